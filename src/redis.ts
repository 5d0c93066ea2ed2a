/**
 * Every Redis connection the bot makes is built here, from config.redis, whatever Redis is: one
 * node (`redis://`, or TLS with `rediss://`), a master that Sentinels watch (REDIS_SENTINELS), or
 * a Cluster (REDIS_CLUSTER_NODES). Three uses:
 *   - state: request state and job producers. Fails fast, so a person hears "Redis unreachable"
 *     rather than waiting;
 *   - worker: a template BullMQ copies for each worker's own connections (they block, and retry
 *     for ever: BullMQ requires maxRetriesPerRequest null). The template never connects itself;
 *   - check: the doctor's. One attempt, bounded by its timeout.
 * duplicateRedis gives a blocking read (the audit relay's XREAD) a connection of its own.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions as TlsOptions } from "node:tls";
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import { errorInWords } from "./error-words.js";

export type RedisClient = Redis | Cluster;

export interface HostPort {
  host: string;
  port: number;
}

export type RedisTopology =
  | { mode: "single" }
  | {
      mode: "sentinel";
      /** The master group the Sentinels watch (`sentinel monitor <name> …`). */
      name: string;
      sentinels: HostPort[];
      /** The Sentinels' own password (their requirepass), not the data nodes'. */
      password: string | undefined;
      /** TLS to the Sentinels themselves. */
      tls: boolean;
    }
  | { mode: "cluster"; nodes: HostPort[] };

/** PEM files for TLS: the CA to trust instead of the system's, a client certificate and key. */
export interface RedisTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** The name to expect in the servers' certificates, when it is not the address connected to. */
  servername?: string;
}

export interface RedisSettings {
  /**
   * REDIS_URL. One node: where it is. Every topology: the scheme (`rediss://`: TLS to the data
   * nodes), the user and password, and the database (not in a Cluster).
   */
  url: string;
  /** Of every key and queue; a hash tag (`{…}`) in a Cluster, so all keys share one slot. */
  prefix: string;
  topology: RedisTopology;
  tls: RedisTlsFiles;
}

export type RedisUse = { purpose: "state" | "worker" } | { purpose: "check"; timeoutMs: number };

/** One node's settings, as the dev tools and tests use them. */
export function singleNodeSettings(url: string, prefix: string): RedisSettings {
  return { url, prefix, topology: { mode: "single" }, tls: {} };
}

/** The user, password and database REDIS_URL carries (the data nodes' credentials). */
export function urlCredentials(url: string): { username?: string; password?: string; db?: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return {};
  }
  const db = Number(parsed.pathname.slice(1));
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.pathname.length > 1 && Number.isInteger(db) ? { db } : {}),
  };
}

export function usesTls(settings: Pick<RedisSettings, "url">): boolean {
  return /^rediss:\/\//i.test(settings.url);
}

/** REDIS_URL fit to print: the password, if any, is masked. */
export function printableRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "REDIS_URL";
  }
}

const hostList = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(", ");

/** Where Redis is, and how it is run, in words (no secret): for the doctor and the start-up log. */
export function describeRedis(settings: RedisSettings): { where: string; topology: string } {
  const tls = usesTls(settings) ? ", TLS" : "";
  const { topology } = settings;
  switch (topology.mode) {
    case "single":
      return { where: printableRedisUrl(settings.url), topology: `single node${tls}` };
    case "sentinel":
      return {
        where: `master "${topology.name}" from Sentinels ${hostList(topology.sentinels)}`,
        topology: `Sentinel${tls}${topology.tls ? ", TLS to the Sentinels" : ""}`,
      };
    case "cluster":
      return { where: `Cluster nodes ${hostList(topology.nodes)}`, topology: `Cluster${tls}` };
  }
}

/** Certificate checks stay on (Node's default, said here so that it is never lost). */
function tlsOptions(files: RedisTlsFiles): TlsOptions {
  return {
    rejectUnauthorized: true,
    ...(files.caFile ? { ca: readFileSync(files.caFile) } : {}),
    ...(files.certFile && files.keyFile
      ? { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) }
      : {}),
    ...(files.servername ? { servername: files.servername } : {}),
  };
}

/** What each use asks of a connection to a data node. */
function nodeOptions(use: RedisUse): RedisOptions {
  switch (use.purpose) {
    case "state":
      return { maxRetriesPerRequest: 1, connectTimeout: 3_000, enableReadyCheck: true };
    case "worker":
      return { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: true };
    case "check":
      return {
        lazyConnect: true,
        connectTimeout: use.timeoutMs,
        commandTimeout: use.timeoutMs,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        // ioredis waits this long for a socket that already failed to say it closed (default 2 s),
        // which would keep the doctor alive after its report.
        disconnectTimeout: 200,
      };
  }
}

/**
 * A master demoted to a replica answers writes with READONLY: connect again, to whatever is
 * master now. Behind Sentinels that is found anew, so the command is sent again (2); behind one
 * address (a DNS name a managed Redis moves) the command fails and the next one goes to the new
 * master (1), so that an address that names a replica for good cannot loop.
 */
const reconnectOnReadOnly =
  (resend: boolean) =>
  (err: Error): 1 | 2 | false =>
    err.message.startsWith("READONLY") ? (resend ? 2 : 1) : false;

function createCluster(
  settings: RedisSettings,
  nodes: HostPort[],
  node: RedisOptions,
  use: RedisUse,
) {
  const { username, password } = urlCredentials(settings.url);
  const { lazyConnect, enableOfflineQueue, ...perNode } = node;
  const options: ClusterOptions = {
    lazyConnect: lazyConnect ?? false,
    enableReadyCheck: true,
    redisOptions: {
      ...perNode,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(usesTls(settings) ? { tls: tlsOptions(settings.tls) } : {}),
    },
    ...(use.purpose === "check"
      ? {
          enableOfflineQueue,
          clusterRetryStrategy: () => null,
          slotsRefreshTimeout: use.timeoutMs,
        }
      : {}),
  };
  return new Cluster(nodes, options);
}

/** A client for `use`, named `name` (CLIENT LIST shows it), to Redis as `settings` describe it. */
export function createRedisClient(
  settings: RedisSettings,
  name: string,
  use: RedisUse = { purpose: "state" },
): RedisClient {
  const node: RedisOptions = { connectionName: name, ...nodeOptions(use) };
  const { topology } = settings;
  if (topology.mode === "cluster") return createCluster(settings, topology.nodes, node, use);
  const tls = usesTls(settings) ? { tls: tlsOptions(settings.tls) } : {};
  const oneAttempt = use.purpose === "check" ? { retryStrategy: () => null } : {};
  if (topology.mode === "sentinel") {
    return new Redis({
      ...node,
      ...oneAttempt,
      ...urlCredentials(settings.url),
      ...tls,
      reconnectOnError: reconnectOnReadOnly(true),
      name: topology.name,
      sentinels: topology.sentinels,
      ...(topology.password ? { sentinelPassword: topology.password } : {}),
      ...(topology.tls ? { sentinelTLS: tlsOptions(settings.tls) } : {}),
      enableTLSForSentinelMode: usesTls(settings),
      // Told of a failover (+switch-master), every connection moves to the new master at once,
      // rather than writing to the old one until Sentinel demotes it.
      failoverDetector: use.purpose !== "check",
      ...(use.purpose === "check" ? { sentinelRetryStrategy: () => null } : {}),
    });
  }
  return new Redis(settings.url, {
    ...node,
    ...oneAttempt,
    ...tls,
    reconnectOnError: reconnectOnReadOnly(false),
  });
}

/** A connection of its own, like `client`, for a blocking read that must not hold up the rest. */
export function duplicateRedis(client: RedisClient, name: string): RedisClient {
  if (client instanceof Cluster) {
    return client.duplicate(undefined, {
      redisOptions: { ...client.options.redisOptions, connectionName: name },
    });
  }
  return client.duplicate({ connectionName: name });
}

/**
 * Every key matching `pattern`, a batch at a time. SCAN sees only the keys of the node it runs
 * on, so in a Cluster it runs on every master.
 */
export async function* scanKeys(
  client: RedisClient,
  pattern: string,
  count = 1_000,
): AsyncGenerator<string[]> {
  const nodes = client instanceof Cluster ? client.nodes("master") : [client];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== "0");
  }
}

/** Node's codes for a certificate it cannot trust. */
const UNTRUSTED_CERT = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
]);

/** OpenSSL's codes for the alert a server sends when it does not accept the client's certificate. */
const REFUSED_CLIENT_CERT = new Set([
  "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA",
  "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
  "ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN",
]);

/** The same, as OpenSSL words: what is left of them once ioredis rewraps a Sentinel's error. */
const UNTRUSTED_WORDS =
  /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate/i;

/**
 * A TLS failure in words, with what to change: a certificate this client does not trust, one for
 * another name, one out of date. Undefined for anything else.
 */
export function tlsFailure(err: unknown): { reason: string; fix: string } | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    const said = current.message;
    if ((typeof code === "string" && UNTRUSTED_CERT.has(code)) || UNTRUSTED_WORDS.test(said)) {
      return {
        reason: `its TLS certificate is not trusted (${said})`,
        fix: "set REDIS_TLS_CA_FILE to the certificate of the CA that signed it",
      };
    }
    if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
      return {
        reason: `its TLS certificate is for another name (${said})`,
        fix: "connect by a name the certificate holds, or set REDIS_TLS_SERVERNAME to one",
      };
    }
    if (code === "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED") {
      return {
        reason: "it asks for a client certificate, and none was given",
        fix: "set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE",
      };
    }
    if (typeof code === "string" && REFUSED_CLIENT_CERT.has(code)) {
      return {
        reason: `it refused the client certificate (${(current as { reason?: string }).reason ?? code})`,
        fix: "set REDIS_TLS_CERT_FILE to a certificate signed by a CA Redis trusts (its tls-ca-cert-file)",
      };
    }
    if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
      return {
        reason: `its TLS certificate is not valid now (${said})`,
        fix: "renew the certificate of Redis",
      };
    }
    // ioredis keeps a Cluster node's own error beside the one it reports.
    const next = current as { cause?: unknown; lastNodeError?: unknown };
    current = next.cause ?? next.lastNodeError;
  }
  return undefined;
}

/** Redis replies that refuse the credentials (ioredis gives them as text only). */
const REFUSED_CREDENTIALS = /NOAUTH|WRONGPASS|invalid password|invalid username/i;

export function refusedCredentials(err: unknown): boolean {
  return err instanceof Error && REFUSED_CREDENTIALS.test(err.message);
}

export class RedisUnavailableError extends Error {
  readonly code = "REDIS_UNAVAILABLE";
  constructor(message: string) {
    super(message);
    this.name = "RedisUnavailableError";
  }
}

/**
 * Resolves once `client` is ready; rejects, in words, at its first failure to connect (the state
 * client fails fast, and so does start-up: a supervisor restarts the process), or after
 * `timeoutMs` of silence. One Cluster node's failure waits for the others, unless it is one no
 * node will do better on: a certificate not trusted, a password refused.
 */
export function untilReady(
  client: RedisClient,
  settings: RedisSettings,
  timeoutMs = 10_000,
): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  const { where } = describeRedis(settings);
  const failure = (err: unknown) => {
    const tls = tlsFailure(err);
    return new RedisUnavailableError(
      `Redis at ${where}: ${tls ? `${tls.reason}: ${tls.fix}` : errorInWords(err)}`,
    );
  };
  return new Promise((resolve, reject) => {
    const onError = (err: unknown) => done(failure(err));
    const onNodeError = (err: unknown) => {
      if (tlsFailure(err) || refusedCredentials(err)) done(failure(err));
    };
    const onReady = () => done();
    const timer = setTimeout(
      () => done(new RedisUnavailableError(`Redis at ${where}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    function done(err?: Error) {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("error", onError);
      client.off("node error", onNodeError);
      if (err) reject(err);
      else resolve();
    }
    client.on("ready", onReady);
    client.on("error", onError);
    client.on("node error", onNodeError);
  });
}
