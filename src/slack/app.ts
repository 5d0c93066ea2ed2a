import { App, HTTPReceiver, LogLevel, SocketModeReceiver } from "@slack/bolt";
import type { Logger as SlackLogger } from "@slack/logger";
import type { WebClientOptions } from "@slack/web-api";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { BotDeps } from "./deps.js";
import { registerListeners } from "./listeners/index.js";

/** Bolt and the Web API client log through pino, so their lines are redacted too. */
export function slackLogger(logger: Logger, name: string): SlackLogger {
  const log = logger.child({ component: name });
  let level = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => log.debug(msg.map(String).join(" ")),
    info: (...msg: unknown[]) => log.info(msg.map(String).join(" ")),
    warn: (...msg: unknown[]) => log.warn(msg.map(String).join(" ")),
    error: (...msg: unknown[]) => log.error(msg.map(String).join(" ")),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export function webClientOptions(config: Config, logger: Logger): WebClientOptions {
  return {
    slackApiUrl: config.slack.apiUrl,
    logger: slackLogger(logger, "slack-web-api"),
    timeout: 10_000,
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
  };
}

export interface SlackBot {
  app: App;
  /** Bolt's request listener in HTTP mode, mounted on our own HTTP server. */
  httpListener: HTTPReceiver["requestListener"] | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Can Slack reach us? In Socket Mode: is the socket open (it drops and reconnects). */
  connected(): boolean;
}

/**
 * The Bolt app: HTTP mode (Slack calls POST /slack/events; every request's signature is checked
 * by Bolt's receiver) or Socket Mode when SLACK_APP_TOKEN is set.
 */
export function createSlackBot(deps: BotDeps): SlackBot {
  const { config, logger } = deps;
  const boltLogger = slackLogger(logger, "bolt");
  const socketReceiver = config.slack.appToken
    ? new SocketModeReceiver({
        appToken: config.slack.appToken,
        logger: boltLogger,
        // The health server listens on PORT; Bolt must not open its own.
        customRoutes: [],
        // The receiver's own WebClient (apps.connections.open, with the app token) is built from
        // installerOptions.clientOptions only: App's clientOptions do not reach it, so without
        // this it would ask https://slack.com/api/ whatever SLACK_API_URL says. Its retryConfig
        // is left to @slack/socket-mode, whose default keeps retrying while it reconnects.
        installerOptions: {
          clientOptions: { slackApiUrl: config.slack.apiUrl, timeout: 10_000 },
        },
      })
    : undefined;
  const receiver =
    socketReceiver ??
    new HTTPReceiver({
      signingSecret: config.slack.signingSecret ?? "",
      endpoints: "/slack/events",
      logger: boltLogger,
      // Ack first, work after: Slack gets its answer before any Auth0 or Redis call.
      processBeforeResponse: false,
    });
  // Deferred, so an unreachable Slack or a revoked token is an error start() reports, not a crash
  // inside Bolt's constructor.
  const app = new App({
    token: config.slack.botToken,
    receiver,
    logger: boltLogger,
    clientOptions: webClientOptions(config, logger),
    deferInitialization: true,
  });
  registerListeners(app, deps);
  return {
    app,
    // In HTTP mode our own server (health routes too) hands Slack's requests to Bolt.
    httpListener: receiver instanceof HTTPReceiver ? receiver.requestListener : undefined,
    start: async () => {
      await app.init();
      // Resolves once Slack's hello arrives on the socket.
      if (socketReceiver) await app.start();
    },
    // Not app.stop(): SocketModeReceiver.stop() starts the close handshake and returns at once.
    // The client's disconnect() resolves once the socket is closed.
    stop: async () => {
      if (socketReceiver) await socketReceiver.client.disconnect();
    },
    connected: () => !socketReceiver || socketReceiver.client.websocket?.isActive() === true,
  };
}
