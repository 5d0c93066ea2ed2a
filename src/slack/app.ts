import { App, HTTPReceiver, SocketModeReceiver } from "@slack/bolt";
import type { BotDeps } from "./deps.js";
import { registerListeners } from "./listeners/index.js";
import { slackLogger, webClientOptions } from "./web-client.js";

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
    // No conversation store: nothing here uses it, and it costs every event a lookup.
    convoStore: false,
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
