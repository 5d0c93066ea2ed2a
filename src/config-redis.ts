/**
 * The Redis settings: which topology (one node, Sentinel, Cluster), how to reach it (TLS files),
 * and the rules across their variables, each broken rule one line naming what to change.
 */
import { TRUE } from "./config-fields.js";
import type { HostPort, RedisSettings, RedisTlsFiles } from "./redis.js";
import { urlCredentials, usesTls } from "./redis.js";

/** One thing wrong, and the variable to change. */
interface Problem {
  variable: string;
  text: string;
}

const SENTINEL_ONLY = ["REDIS_SENTINEL_NAME", "REDIS_SENTINEL_PASSWORD", "REDIS_SENTINEL_TLS"];
const TLS_FILES = [
  "REDIS_TLS_CA_FILE",
  "REDIS_TLS_CERT_FILE",
  "REDIS_TLS_KEY_FILE",
  "REDIS_TLS_SERVERNAME",
];

/** Rules across the Redis variables, on the raw text, so they are reported with all the others. */
export function redisCombinationProblems(env: NodeJS.ProcessEnv): Problem[] {
  const set = (name: string) => Boolean(env[name]?.trim());
  const problems: Problem[] = [];
  const sentinel = set("REDIS_SENTINELS");
  const cluster = set("REDIS_CLUSTER_NODES");
  if (sentinel && cluster) {
    problems.push({
      variable: "REDIS_CLUSTER_NODES",
      text: "REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set: Redis is either watched by Sentinels or a Cluster; keep one",
    });
  }
  if (sentinel && !set("REDIS_SENTINEL_NAME")) {
    problems.push({
      variable: "REDIS_SENTINEL_NAME",
      text: "REDIS_SENTINEL_NAME is required with REDIS_SENTINELS: the name the Sentinels watch the master by (sentinel monitor <name> … in sentinel.conf), e.g. mymaster",
    });
  }
  if (!sentinel) {
    for (const name of SENTINEL_ONLY.filter(set)) {
      problems.push({
        variable: name,
        text: `${name} has no effect without REDIS_SENTINELS: set REDIS_SENTINELS too, or remove ${name}`,
      });
    }
  }
  const tls =
    usesTls({ url: env.REDIS_URL?.trim() ?? "" }) ||
    (sentinel && TRUE.test(env.REDIS_SENTINEL_TLS?.trim() ?? ""));
  if (!tls) {
    for (const name of TLS_FILES.filter(set)) {
      problems.push({
        variable: name,
        text: `${name} has no effect: nothing uses TLS (REDIS_URL must start with rediss:// for TLS to Redis)`,
      });
    }
  }
  if (set("REDIS_TLS_CERT_FILE") !== set("REDIS_TLS_KEY_FILE")) {
    const missing = set("REDIS_TLS_CERT_FILE") ? "REDIS_TLS_KEY_FILE" : "REDIS_TLS_CERT_FILE";
    problems.push({
      variable: missing,
      text: `${missing} is required with ${missing === "REDIS_TLS_KEY_FILE" ? "REDIS_TLS_CERT_FILE" : "REDIS_TLS_KEY_FILE"}: a client certificate goes with its private key`,
    });
  }
  const db = urlCredentials(env.REDIS_URL?.trim() ?? "").db;
  if (cluster && db !== undefined && db !== 0) {
    problems.push({
      variable: "REDIS_URL",
      text: `REDIS_URL selects database ${db}, but a Redis Cluster has database 0 only: remove /${db} from REDIS_URL`,
    });
  }
  return problems;
}

/** The validated variables config.redis is made of. */
export interface RedisVariables {
  REDIS_URL: string;
  REDIS_PREFIX: string;
  REDIS_SENTINELS: HostPort[];
  REDIS_SENTINEL_NAME: string | undefined;
  REDIS_SENTINEL_PASSWORD: string | undefined;
  REDIS_SENTINEL_TLS: boolean | undefined;
  REDIS_CLUSTER_NODES: HostPort[];
  REDIS_TLS_CA_FILE: string | undefined;
  REDIS_TLS_CERT_FILE: string | undefined;
  REDIS_TLS_KEY_FILE: string | undefined;
  REDIS_TLS_SERVERNAME: string | undefined;
}

/**
 * config.redis. In a Cluster the prefix becomes a hash tag, `{REDIS_PREFIX}`: every key then
 * hashes to one slot, as BullMQ's scripts and ours (which touch several keys at once) need.
 */
export function redisSettings(e: RedisVariables): RedisSettings {
  const tls: RedisTlsFiles = {
    ...(e.REDIS_TLS_CA_FILE ? { caFile: e.REDIS_TLS_CA_FILE } : {}),
    ...(e.REDIS_TLS_CERT_FILE ? { certFile: e.REDIS_TLS_CERT_FILE } : {}),
    ...(e.REDIS_TLS_KEY_FILE ? { keyFile: e.REDIS_TLS_KEY_FILE } : {}),
    ...(e.REDIS_TLS_SERVERNAME ? { servername: e.REDIS_TLS_SERVERNAME } : {}),
  };
  if (e.REDIS_CLUSTER_NODES.length > 0) {
    return {
      url: e.REDIS_URL,
      prefix: `{${e.REDIS_PREFIX}}`,
      topology: { mode: "cluster", nodes: e.REDIS_CLUSTER_NODES },
      tls,
    };
  }
  if (e.REDIS_SENTINELS.length > 0) {
    return {
      url: e.REDIS_URL,
      prefix: e.REDIS_PREFIX,
      topology: {
        mode: "sentinel",
        name: e.REDIS_SENTINEL_NAME ?? "",
        sentinels: e.REDIS_SENTINELS,
        password: e.REDIS_SENTINEL_PASSWORD,
        // Like the data nodes unless told otherwise: Sentinels usually speak TLS when they do.
        tls: e.REDIS_SENTINEL_TLS ?? usesTls({ url: e.REDIS_URL }),
      },
      tls,
    };
  }
  return { url: e.REDIS_URL, prefix: e.REDIS_PREFIX, topology: { mode: "single" }, tls };
}
