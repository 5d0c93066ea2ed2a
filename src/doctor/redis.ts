import { Cluster, type Redis } from "ioredis";
import { networkFailure } from "../auth0/errors.js";
import type { Config } from "../config.js";
import { errorInWords } from "../error-words.js";
import {
  createRedisClient,
  describeRedis,
  type RedisClient,
  refusedCredentials,
  tlsFailure,
  urlCredentials,
  usesTls,
} from "../redis.js";
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
  return url ? urlCredentials(url).password : undefined;
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
function redisFailure(cause: unknown, timeoutMs: number, config: Config) {
  const tls = tlsFailure(cause);
  if (tls) return tls;
  const said = errorInWords(cause);
  if (refusedCredentials(cause)) {
    return {
      reason: said,
      fix: "put the right user and password in REDIS_URL (redis://user:password@host:6379)",
    };
  }
  const where = config.redis.topology.mode;
  const fix =
    where === "sentinel"
      ? "start the Sentinels and their master, or set REDIS_SENTINELS to Sentinels this host can reach"
      : where === "cluster"
        ? "start the Cluster, or set REDIS_CLUSTER_NODES to nodes of it this host can reach"
        : "start Redis, or set REDIS_URL to a Redis this host can reach";
  // ioredis keeps no code of a Cluster node's failure: "Connection is closed." at best.
  if (where === "cluster") return { reason: `none of its nodes could be used (${said})`, fix };
  const network = networkFailure(cause, timeoutMs);
  // Closed at once, with or without a reset: what a TLS server does to what it cannot take.
  if (network?.code === "ECONNRESET" || /^Connection is closed/.test(said)) {
    const closed = network?.reason ?? "the connection was closed";
    const hint = closedHint(config);
    return hint ? { reason: `${closed} (${hint.why})`, fix: hint.fix } : { reason: closed, fix };
  }
  if (network) return { reason: network.reason, fix };
  if (/Unknown RESP type|Protocol error/i.test(said)) {
    return { reason: "something that is not Redis answered there (check the host and port)", fix };
  }
  return { reason: said, fix };
}

/** What a Redis that closes the connection at once usually means, given what was sent it. */
function closedHint(config: Config): { why: string; fix: string } | undefined {
  if (!usesTls(config.redis)) {
    return {
      why: "as a Redis that speaks TLS only does to plain connections",
      fix: "if it speaks TLS, write REDIS_URL as rediss://…",
    };
  }
  if (!config.redis.tls.certFile) {
    return {
      why: "as a Redis that asks clients for a certificate (tls-auth-clients yes) does without one",
      fix: "if it asks for a client certificate, set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE",
    };
  }
  return undefined;
}

/** The nodes whose settings matter: a Cluster's masters (each holds keys), or the one node. */
function dataNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes("master") : [redis];
}

/** Which topology, and for a Cluster how many masters and where the bot's keys live. */
async function topologyWords(redis: RedisClient, config: Config): Promise<string> {
  const { topology } = describeRedis(config.redis);
  if (!(redis instanceof Cluster)) return topology;
  const masters = redis.nodes("master").length;
  const slot = Number(await redis.cluster("KEYSLOT", config.redis.prefix));
  return `${topology} of ${masters} masters; keys under ${config.redis.prefix} in slot ${slot}`;
}

/** The Redis line, and the lines that depend on it skipped for `why`. */
function stopAt(redisLine: CheckResult, why: string): CheckResult[] {
  return [
    redisLine,
    skip(CHECK.eviction, why),
    skip(CHECK.persistence, why),
    skip(CHECK.auditRelay, why),
  ];
}

export async function checkRedis(config: Config, timeoutMs: number): Promise<CheckResult[]> {
  const { where } = describeRedis(config.redis);
  const redis = createRedisClient(config.redis, "promote-connection:doctor", {
    purpose: "check",
    timeoutMs,
  });
  // connect() only says "Connection is closed." or "None of startup nodes is available"; the
  // error events say why. Unhandled, they would crash the process.
  let socketError: unknown;
  const remember = (err: unknown) => {
    socketError ??= err;
  };
  redis.on("error", remember);
  redis.on("node error", remember);
  try {
    let version: string | undefined;
    let topology: string;
    try {
      await redis.connect();
      version = parseInfo(await redis.info("server")).get("redis_version");
      topology = await topologyWords(redis, config);
    } catch (err) {
      const failure = redisFailure(socketError ?? err, timeoutMs, config);
      return stopAt(
        fail(CHECK.redis, `not reachable at ${where}: ${failure.reason}`, failure.fix),
        "Redis is not reachable",
      );
    }
    if (!(redis instanceof Cluster)) {
      const role = parseInfo(await redis.info("replication")).get("role");
      if (role === "slave") {
        return stopAt(
          fail(
            CHECK.redis,
            `reachable at ${where}, but it is a replica (read-only): every write would fail`,
            config.redis.topology.mode === "sentinel"
              ? "check the Sentinels: the master they name is a replica"
              : "set REDIS_URL to the master, or REDIS_SENTINELS to the Sentinels that watch it",
          ),
          "Redis is a replica",
        );
      }
    }
    const nodes = dataNodes(redis);
    return [
      ok(CHECK.redis, `reachable at ${where} (${topology}${version ? `; Redis ${version}` : ""})`),
      await onEveryNode(CHECK.eviction, nodes, checkEviction),
      await onEveryNode(CHECK.persistence, nodes, checkPersistence),
      await checkAuditRelay(redis, config),
    ];
  } finally {
    redis.disconnect();
  }
}

const RANK: Record<CheckResult["status"], number> = { ok: 0, skip: 1, warn: 2, fail: 3 };

/**
 * A check of a node's settings, on every node that holds keys: one node's answer as it is; for
 * several, the worst, naming the node, or the common answer when all agree.
 */
async function onEveryNode(
  name: string,
  nodes: Redis[],
  check: (node: Redis) => Promise<CheckResult>,
): Promise<CheckResult> {
  const results = await Promise.all(nodes.map(check));
  const [first] = results;
  if (!first) return skip(name, "no master of the Cluster is known");
  if (results.length === 1) return first;
  const worst = results.reduce((a, b) => (RANK[b.status] > RANK[a.status] ? b : a));
  if (worst.status === "ok")
    return { ...first, detail: `${first.detail} (all ${results.length} masters)` };
  const node = nodes[results.indexOf(worst)];
  const address = node ? `${node.options.host}:${node.options.port}` : "a master";
  return { ...worst, detail: `on ${address}: ${worst.detail}` };
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
async function checkAuditRelay(redis: RedisClient, config: Config): Promise<CheckResult> {
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
