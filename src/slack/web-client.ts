import type { Logger as SlackLogger, WebClientOptions } from "@slack/web-api";
import { LogLevel } from "@slack/web-api";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";

/** Bolt and the Web API client log through pino, so their lines are redacted too. */
export function slackLogger(logger: Logger, name: string): SlackLogger {
  const log = logger.child({ component: name });
  let level = LogLevel.INFO;
  // Checked first: Bolt and the client log a lot at debug, and joining costs on every event.
  const at =
    (method: "debug" | "info" | "warn" | "error") =>
    (...msg: unknown[]) => {
      if (log.isLevelEnabled(method)) log[method](msg.map(String).join(" "));
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

/** Options of every Slack Web API client the bot makes: the API base and bounded retries. */
export function webClientOptions(config: Config, logger: Logger): WebClientOptions {
  return {
    slackApiUrl: config.slack.apiUrl,
    logger: slackLogger(logger, "slack-web-api"),
    timeout: 10_000,
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
  };
}
