import { Redis } from "ioredis";
import { networkFailure } from "../auth0/errors.js";
import type { Config } from "../config.js";
import { errorInWords } from "../error-words.js";
import { AuditLog } from "../requests/audit-log.js";
import { type CheckResult, fail, ok, skip, warn } from "./report.js";

/** Redis: reachable, never evicting keys, keeping them across a restart. */

const CHECK = {
  redis: "Redis",
  eviction: "Redis eviction policy",
  persistence: "Redis persistence",
  auditRelay: "Audit relay",
} as const;

export function redisNames(): string[] {
  return [CHECK.redis, CHECK.eviction, CHECK.persistence, CHECK.auditRelay];
}

export function redisPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/** REDIS_URL fit to print: the password, if any, is masked. */
function printableRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "REDIS_URL";
  }
}

/** `INFO <section>` as key → value. */
function parseInfo(info: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Why Redis could not be used. ioredis gives its parser's and the server's errors as text only
 * (no codes), so their words are read here, where the error arrives: Redis's NOAUTH and
 * WRONGPASS replies, older servers' "invalid password", the parser's "Protocol error".
 */
function redisFailure(cause: unknown, timeoutMs: number): { reason: string; auth: boolean } {
  const network = networkFailure(cause, timeoutMs);
  if (network) return { reason: network.reason, auth: false };
  const said = errorInWords(cause);
  if (/Unknown RESP type|Protocol error/i.test(said)) {
    return {
      reason: "something that is not Redis answered there (check the host and port)",
      auth: false,
    };
  }
  return { reason: said, auth: /NOAUTH|WRONGPASS|invalid password|invalid username/i.test(said) };
}

export async function checkRedis(config: Config, timeoutMs: number): Promise<CheckResult[]> {
  const where = printableRedisUrl(config.redis.url);
  const redis = new Redis(config.redis.url, {
    connectionName: "promote-connection:doctor",
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    // One attempt: the doctor reports an unreachable Redis, it does not wait for it.
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // ioredis waits this long for a socket that already failed to say it closed (default 2 s),
    // which would keep the process alive after the report.
    disconnectTimeout: 200,
  });
  // connect() only says "Connection is closed."; the 'error' event says why. Unhandled, that
  // event would crash the process.
  let socketError: unknown;
  redis.on("error", (err: unknown) => {
    socketError = err;
  });
  try {
    let version: string | undefined;
    try {
      await redis.connect();
      version = parseInfo(await redis.info("server")).get("redis_version");
    } catch (err) {
      const failure = redisFailure(socketError ?? err, timeoutMs);
      return [
        fail(
          CHECK.redis,
          `not reachable at ${where}: ${failure.reason}`,
          failure.auth
            ? "put the right user and password in REDIS_URL (redis://user:password@host:6379)"
            : "start Redis, or set REDIS_URL to a Redis this host can reach",
        ),
        skip(CHECK.eviction, "Redis is not reachable"),
        skip(CHECK.persistence, "Redis is not reachable"),
        skip(CHECK.auditRelay, "Redis is not reachable"),
      ];
    }
    return [
      ok(CHECK.redis, `reachable at ${where}${version ? ` (Redis ${version})` : ""}`),
      await checkEviction(redis),
      await checkPersistence(redis),
      await checkAuditRelay(redis, config),
    ];
  } finally {
    redis.disconnect();
  }
}

async function checkEviction(redis: Redis): Promise<CheckResult> {
  const fix = "set maxmemory-policy noeviction (BullMQ needs it)";
  let policy: string | undefined;
  try {
    // INFO, not CONFIG GET: managed Redis services often disable CONFIG.
    policy = parseInfo(await redis.info("memory")).get("maxmemory_policy");
  } catch (err) {
    return warn(CHECK.eviction, `could not tell: INFO memory failed (${errorInWords(err)})`, fix);
  }
  if (policy === undefined) {
    return warn(CHECK.eviction, "could not tell: INFO memory has no maxmemory_policy", fix);
  }
  if (policy === "noeviction") return ok(CHECK.eviction, "noeviction");
  return fail(
    CHECK.eviction,
    `maxmemory-policy is ${policy}: when memory runs short Redis would delete queued promotions and requests`,
    fix,
  );
}

async function checkPersistence(redis: Redis): Promise<CheckResult> {
  const fix =
    "appendonly yes (in redis.conf, or CONFIG SET appendonly yes then CONFIG REWRITE; on a managed Redis, turn persistence on)";
  let aof: string | undefined;
  try {
    aof = parseInfo(await redis.info("persistence")).get("aof_enabled");
  } catch (err) {
    return warn(
      CHECK.persistence,
      `could not tell: INFO persistence failed (${errorInWords(err)})`,
      fix,
    );
  }
  if (aof === "1") return ok(CHECK.persistence, "on (appendonly yes)");
  // RDB snapshots are configuration, not state: only CONFIG GET shows them.
  let save: string | undefined;
  try {
    const answer: unknown[] = await redis.config("GET", "save");
    save = typeof answer[1] === "string" ? answer[1] : undefined;
  } catch {
    return warn(
      CHECK.persistence,
      "could not tell: AOF is off and CONFIG GET save is not allowed here, so RDB snapshots are unknown",
      fix,
    );
  }
  if (save === undefined) {
    return warn(CHECK.persistence, "could not tell: CONFIG GET save gave no answer", fix);
  }
  if (save.trim() !== "") {
    return ok(
      CHECK.persistence,
      `on (RDB snapshots: save ${save}; appendonly yes would lose less on a crash)`,
    );
  }
  return fail(
    CHECK.persistence,
    "off (no AOF, no RDB snapshots): a Redis restart would lose every pending request and queued promotion",
    fix,
  );
}

const CHANNEL_GONE = new Set(["not_in_channel", "channel_not_found", "is_archived"]);
const TOKEN_GONE = new Set(["token_revoked", "account_inactive", "invalid_auth", "not_authed"]);

/** Whether the audit channel keeps up with the trail, and why not when it is held. */
async function checkAuditRelay(redis: Redis, config: Config): Promise<CheckResult> {
  const log = new AuditLog(redis, config.redis.prefix, config.auditRetention);
  let held: Awaited<ReturnType<AuditLog["holdStatus"]>>;
  let lag: { entries: number; seconds: number };
  try {
    [held, lag] = await Promise.all([log.holdStatus(), log.lag()]);
  } catch (err) {
    return warn(CHECK.auditRelay, `could not tell (${errorInWords(err)})`, "check Redis");
  }
  const waiting = `${lag.entries >= 1_000 ? "1000 or more" : lag.entries} line(s) wait, the oldest for ${Math.round(lag.seconds)} s; none is lost`;
  if (held) {
    const channel = `<#${config.slack.auditChannelId}>`;
    const fix = CHANNEL_GONE.has(held.reason)
      ? `invite the bot to the audit channel ${config.slack.auditChannelId} (/invite @promote-connection), or set AUDIT_CHANNEL_ID to a channel it is in; the held lines then arrive in order`
      : TOKEN_GONE.has(held.reason)
        ? "reinstall the Slack app and put its new bot token in SLACK_BOT_TOKEN; the held lines then arrive in order"
        : "see the bot's log for the Slack error; the held lines arrive once Slack accepts them";
    return fail(
      CHECK.auditRelay,
      `held since ${new Date(held.since).toISOString()}: Slack answers ${held.reason} when posting to ${channel}; ${waiting}`,
      fix,
    );
  }
  if (lag.entries === 0) return ok(CHECK.auditRelay, "the audit channel is up to date");
  return ok(CHECK.auditRelay, `lines are flowing; ${waiting}`);
}
