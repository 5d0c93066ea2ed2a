import { AsyncLocalStorage } from "node:async_hooks";
import { pino } from "pino";

/**
 * Patterns of credentials that must never reach a log line, whatever field or message they
 * travel in: Slack tokens, bearer tokens, JWT-shaped strings (client assertions too), client
 * secrets in form bodies, and PEM private keys.
 */
const SECRET_PATTERNS: RegExp[] = [
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
  /\bxox[abposr]-[A-Za-z0-9-]+/g,
  /\bxapp-[A-Za-z0-9-]+/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
  /(client_secret|access_token|refresh_token|assertion)=[^&\s"]+/gi,
  // A response_url lets whoever holds it post into the conversation for 30 minutes.
  /https:\/\/hooks\.slack\.com\/[^\s"']+/g,
];

/**
 * The password of `scheme://user:password@host` (REDIS_URL, for one); the rest still says where.
 * One already masked (`***`, the doctor's way) and the placeholder of help texts
 * (`redis://user:password@host`) are left as they are.
 */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)(?!\*+@|password@)[^\s/?#@]+@/gi;

/** Replaces anything that looks like a credential with [REDACTED]. */
export function redactSecrets(text: string): string {
  let out = text.replace(URL_PASSWORD, "$1[REDACTED]@");
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, key?: string) =>
      typeof key === "string" && match.includes("=") ? `${key}=[REDACTED]` : "[REDACTED]",
    );
  }
  return out;
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    return {
      type: value.name,
      message: redactSecrets(value.message),
      stack: redactSecrets(value.stack ?? ""),
    };
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

/** Field names whose value is always a secret, wherever they appear. */
const REDACT_PATHS = [
  "token",
  "*.token",
  "accessToken",
  "*.accessToken",
  "access_token",
  "*.access_token",
  "clientSecret",
  "*.clientSecret",
  "client_secret",
  "*.client_secret",
  "client_assertion",
  "*.client_assertion",
  "privateKey",
  "*.privateKey",
  "signingSecret",
  "*.signingSecret",
  "botToken",
  "*.botToken",
  "appToken",
  "*.appToken",
  "authorization",
  "*.authorization",
  // ioredis's options (a Redis password, the Sentinels')
  "password",
  "*.password",
  "sentinelPassword",
  "*.sentinelPassword",
  "headers.authorization",
  "*.headers.authorization",
  "headers.cookie",
];

export type Logger = pino.Logger;

const requestContext = new AsyncLocalStorage<{ requestId: string }>();

/**
 * Runs `fn` with a request id that every log line written inside it carries, however deep the
 * call (the Auth0 client, the Slack client), without passing loggers around.
 */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return requestContext.run({ requestId }, fn);
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: pino.DestinationStream;
  /** Human-readable lines (pino-pretty) instead of JSON. */
  pretty?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base: pino.LoggerOptions = {
    level: options.level ?? "info",
    base: { service: "promote-connection" },
    redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
    mixin: () => requestContext.getStore() ?? {},
    hooks: {
      // Secrets inside free text (error messages, URLs) are not reachable by path redaction.
      logMethod(args, method) {
        method.apply(this, args.map((a) => scrub(a)) as Parameters<typeof method>);
      },
    },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.pretty) {
    return pino({ ...base, transport: { target: "pino-pretty", options: { colorize: true } } });
  }
  return pino(base);
}
