/**
 * Redis as production runs it beyond one node, made of real processes on loopback for the tests:
 * a TLS-only redis-server with certificates made by openssl, a master and replica watched by
 * Sentinels, a three-master Cluster. Each lives in temporary directories it removes when stopped.
 * Nothing sleeps to synchronise: every wait polls with a deadline.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { pollUntil } from "../../src/dev/harness/poll.js";
import type { HostPort } from "../../src/redis.js";
import { freePort, type RedisServer, startRedisServer } from "./redis-server.js";

/**
 * Settings that are valid but reach no Slack or Auth0: enough for the doctor's Redis check, or
 * for start() to go as far as Redis.
 */
export const NOWHERE = {
  SLACK_BOT_TOKEN: "xoxb-1-2-nowhere",
  SLACK_SIGNING_SECRET: "nowhere-signing-secret",
  SLACK_API_URL: "http://127.0.0.1:9/api/",
  APPROVAL_CHANNEL_ID: "C0APPROVE1",
  AUDIT_CHANNEL_ID: "C0AUDIT001",
  APPROVER_USER_IDS: "U0APPROVE1",
  AUTH0_DOMAIN: "http://127.0.0.1:9",
  AUTH0_CLIENT_ID: "client",
  AUTH0_CLIENT_SECRET: "client-secret",
};

/** Polls `check` every 50 ms until it returns a value; fails after `timeoutMs` naming `what`. */
export function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 15_000,
): Promise<T> {
  return pollUntil(check, {
    timeoutMs,
    everyMs: 50,
    timedOut: (ms) => new Error(`${what}: not within ${ms} ms`),
  });
}

const openssl = (dir: string, args: string[]) =>
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });

/** EC P-256 keys: made in milliseconds, unlike RSA. */
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A new key in `name.key`, and a self-signed CA certificate (`name.crt`) or a request (`.csr`). */
function newKey(dir: string, name: string, cn: string, as: "ca" | "request"): void {
  const out =
    as === "ca" ? ["-x509", "-days", "2", "-out", `${name}.crt`] : ["-new", "-out", `${name}.csr`];
  openssl(dir, ["req", ...out, ...EC, ...["-keyout", `${name}.key`, "-subj", `/CN=${cn}`]]);
}

/** A certificate for `cn` signed by the CA `ca`, with the extension `ext`. */
function signedCert(dir: string, name: string, ca: string, cn: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
  newKey(dir, name, cn, "request");
  openssl(dir, [
    ...["x509", "-req", "-in", `${name}.csr`, "-days", "2", "-out", `${name}.crt`],
    ...["-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial", "-extfile", `${name}.ext`],
  ]);
}

export interface Certificates {
  dir: string;
  /** The CA that signed the server's and the client's certificates. */
  caFile: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Another CA, which signed nothing here. */
  otherCaFile: string;
  remove(): void;
}

/** A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, another CA. */
export function makeCertificates(): Certificates {
  const dir = mkdtempSync(join(tmpdir(), "promote-connection-tls-"));
  newKey(dir, "ca", "promote-connection test CA", "ca");
  newKey(dir, "other-ca", "some other CA", "ca");
  signedCert(dir, "server", "ca", "localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost");
  signedCert(dir, "client", "ca", "promote-connection", "extendedKeyUsage=clientAuth");
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caFile: at("ca.crt"),
    serverCert: at("server.crt"),
    serverKey: at("server.key"),
    clientCert: at("client.crt"),
    clientKey: at("client.key"),
    otherCaFile: at("other-ca.crt"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A redis-server that speaks TLS only, and asks clients for a certificate from `certs`' CA. */
export async function startTlsRedis(certs: Certificates): Promise<RedisServer> {
  const tlsPort = await freePort();
  const server = await startRedisServer(
    [
      ...["--tls-port", String(tlsPort)],
      ...["--tls-cert-file", certs.serverCert, "--tls-key-file", certs.serverKey],
      ...["--tls-ca-cert-file", certs.caFile, "--tls-auth-clients", "yes"],
    ],
    { port: 0 },
  );
  return { ...server, port: tlsPort, url: `rediss://127.0.0.1:${tlsPort}` };
}

export interface SentinelSet {
  masterName: string;
  /** REDIS_SENTINELS */
  sentinels: HostPort[];
  master: RedisServer;
  replica: RedisServer;
  /** A client of the first Sentinel (its password given). */
  sentinel: Redis;
  /** The port of the master the Sentinels name now. */
  masterPort(): Promise<number>;
  /** SENTINEL FAILOVER, once the replica has every write; resolves when the replica is master. */
  failover(): Promise<void>;
  stop(): Promise<void>;
}

/** `INFO <section>` field. */
async function info(redis: Redis, section: string, field: string): Promise<string | undefined> {
  const text = await redis.info(section);
  return new RegExp(`^${field}:(.*)$`, "m").exec(text)?.[1]?.trim();
}

/**
 * A master and its replica, both requiring `password`, watched by two Sentinels that require
 * `sentinelPassword`.
 */
export async function startSentinelSet(opts: {
  password: string;
  sentinelPassword: string;
}): Promise<SentinelSet> {
  const masterName = "mymaster";
  const auth = ["--requirepass", opts.password, "--masterauth", opts.password];
  const started: RedisServer[] = [];
  const clients: Redis[] = [];
  const dir = mkdtempSync(join(tmpdir(), "promote-connection-sentinel-"));
  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(started.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const master = await startRedisServer(auth);
    started.push(master);
    const replica = await startRedisServer([
      ...auth,
      ...["--replicaof", "127.0.0.1", String(master.port)],
    ]);
    started.push(replica);
    const replicaClient = new Redis({ port: replica.port, password: opts.password });
    const masterClient = new Redis({ port: master.port, password: opts.password });
    clients.push(replicaClient, masterClient);
    await waitUntil(
      "the replica in sync",
      async () => (await info(replicaClient, "replication", "master_link_status")) === "up",
    );

    const sentinels: HostPort[] = [];
    for (const i of [1, 2]) {
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
          `sentinel auth-pass ${masterName} ${opts.password}`,
          `sentinel down-after-milliseconds ${masterName} 2000`,
          `sentinel failover-timeout ${masterName} 4000`,
          `sentinel sentinel-pass ${opts.sentinelPassword}`,
          `requirepass ${opts.sentinelPassword}`,
          "",
        ].join("\n"),
      );
      const sentinel = await startRedisServer(["--sentinel"], {
        configFile: conf,
        readyLine: "+monitor master",
      });
      started.push(sentinel);
      sentinels.push({ host: "127.0.0.1", port: sentinel.port });
    }
    const sentinelClients = sentinels.map(
      (address) => new Redis({ ...address, password: opts.sentinelPassword }),
    );
    clients.push(...sentinelClients);
    const [sentinel] = sentinelClients as [Redis];
    const knowsReplica = async () => {
      const replicas = (await sentinel.call("SENTINEL", "REPLICAS", masterName)) as string[][];
      return replicas.some((fields) => {
        const f = Object.fromEntries(
          fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])),
        );
        return (
          f.port === String(replica.port) && f.flags === "slave" && f["master-link-status"] === "ok"
        );
      });
    };
    await waitUntil("the Sentinel to know the replica", knowsReplica);

    const masterPortFrom = async (client: Redis) => {
      const addr = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName)) as
        | [string, string]
        | null;
      return Number(addr?.[1]);
    };
    const masterPort = () => masterPortFrom(sentinel);
    return {
      masterName,
      sentinels,
      master,
      replica,
      sentinel,
      masterPort,
      async failover() {
        // Asynchronous replication: the replica must hold every write before it takes over.
        await masterClient.call("WAIT", "1", "5000");
        await waitUntil("SENTINEL FAILOVER accepted", () =>
          sentinel.call("SENTINEL", "FAILOVER", masterName).then(
            () => true,
            // -NOGOODSLAVE while the Sentinel's view of the replica is not fresh enough yet
            () => false,
          ),
        );
        // Every Sentinel, not only the one that failed over: each tells its subscribers
        // (+switch-master) when it learns, and clients reconnect each time.
        await waitUntil("every Sentinel to name the replica master", async () => {
          const ports = await Promise.all(sentinelClients.map(masterPortFrom));
          return (
            ports.every((port) => port === replica.port) &&
            (await info(replicaClient, "replication", "role")) === "master"
          );
        });
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface RedisCluster {
  /** Every master, for REDIS_CLUSTER_NODES. */
  nodes: HostPort[];
  stop(): Promise<void>;
}

/** Three masters, each with a third of the slots, requiring `password`. */
export async function startCluster(password: string): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  const clients: Redis[] = [];
  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const busPorts: number[] = [];
    for (let i = 0; i < 3; i++) {
      // The bus port is port + 10000 unless given: that may be taken, or past 65535.
      const busPort = await freePort();
      busPorts.push(busPort);
      servers.push(
        await startRedisServer([
          ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
          ...["--cluster-port", String(busPort)],
          ...["--requirepass", password, "--masterauth", password],
        ]),
      );
    }
    for (const s of servers) clients.push(new Redis({ port: s.port, password }));
    const ranges = [
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ] as const;
    await Promise.all(
      clients.map((c, i) => c.call("CLUSTER", "ADDSLOTSRANGE", ...(ranges[i] ?? [])).then(() => c)),
    );
    const [first, ...others] = clients as [Redis, ...Redis[]];
    for (const [i, s] of servers.entries()) {
      if (i > 0) await first.call("CLUSTER", "MEET", "127.0.0.1", s.port, busPorts[i] ?? 0);
    }
    await waitUntil("the Cluster to form", async () => {
      for (const c of [first, ...others]) {
        const text = (await c.call("CLUSTER", "INFO")) as string;
        if (!/cluster_state:ok/.test(text) || !/cluster_known_nodes:3\b/.test(text)) return false;
      }
      return true;
    });
    return { nodes: servers.map((s) => ({ host: "127.0.0.1", port: s.port })), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
