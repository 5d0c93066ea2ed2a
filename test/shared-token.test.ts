import { generateKeyPairSync, randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  createTransport,
  ManagementClient,
  RateLimiter,
  SharedTokenCache,
  type TokenProvider,
  TokenRequestError,
  TokenSeal,
} from "../src/auth0/index.js";
import { pollUntil } from "../src/dev/harness/poll.js";
import { CHANGE_QUEUE, type ChangeJobData, enqueueChange } from "../src/jobs/queues.js";
import type { Logger } from "../src/log.js";
import { RequestStore } from "../src/requests/store.js";
import { capturedLogger, tokenProviderFor } from "./support/auth0-client.js";
import { type Auth0Emulator, startAuth0Emulator } from "./support/auth0-emulator.js";
import { type BotProcess, startBotProcess } from "./support/child.js";
import { startRedisServer } from "./support/redis-server.js";
import { connectionRequest, createApproved } from "./support/requests.js";
import { ACME, APPROVER, type Stack, startStack } from "./support/stack.js";

/**
 * One Management API token for the fleet: several TokenProviders on one Redis stand for the
 * processes of a deployment (each with its own Redis connection and HTTP pool, as a process has).
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Process {
  tokens: TokenProvider;
  client: ManagementClient;
  redis: Redis;
}

interface Fleet {
  auth0: Auth0Emulator;
  processes: Process[];
  prefix: string;
  /** A Redis connection of the test's own, to look at what the fleet stored. */
  redis: Redis;
  logs: string[];
  /** The Redis key of the shared token. */
  key(): Promise<string>;
}

async function fleetOf(
  n: number,
  opts: { tokenExpiresIn?: number; now?: () => number; clientSecret?: string } = {},
): Promise<Fleet> {
  const auth0 = await startAuth0Emulator({
    connections: [{ ...ACME }],
    tokenExpiresIn: opts.tokenExpiresIn,
  });
  cleanups.push(() => auth0.close());
  const prefix = `test-${randomBytes(5).toString("hex")}`;
  const redis = new Redis(inject("redisUrl"));
  cleanups.push(() => redis.disconnect());
  const { logger, logs } = capturedLogger();
  const processes = Array.from({ length: n }, () =>
    startProcess(auth0, prefix, { ...opts, logger }),
  );
  const key = async () => {
    const keys = await redis.keys(`${prefix}:auth0-token:*`);
    const entry = keys.filter((k) => !/:(lock|failed)$/.test(k));
    expect(entry).toHaveLength(1);
    return entry[0] as string;
  };
  return { auth0, processes, prefix, redis, logs, key };
}

function startProcess(
  auth0: Auth0Emulator,
  prefix: string,
  opts: {
    now?: () => number;
    clientSecret?: string;
    logger?: Logger;
    redis?: Redis;
  },
): Process {
  const redis = opts.redis ?? new Redis(inject("redisUrl"));
  const transport = createTransport({ timeoutMs: 2000 });
  cleanups.push(
    () => redis.disconnect(),
    () => transport.close(),
  );
  const tokens = tokenProviderFor(auth0, transport, {
    credential: { kind: "secret", secret: opts.clientSecret ?? auth0.clientSecret },
    timeoutMs: 2000,
    logger: opts.logger,
    now: opts.now,
    fleet: { redis, prefix, tenant: "default" },
  });
  const limiter = new RateLimiter({ perSecond: 1000 });
  const client = new ManagementClient({ baseUrl: auth0.url, tokens, transport, limiter });
  return { tokens, client, redis };
}

const fetchesOf = (processes: Process[]) =>
  processes.reduce((n, p) => n + p.tokens.tokenFetches, 0);

describe("one token for the fleet", () => {
  it("five processes asking at once: Auth0 issues one token, and Redis holds it encrypted", async () => {
    const fleet = await fleetOf(5);
    const got = await Promise.all(
      fleet.processes.flatMap((p) => Array.from({ length: 4 }, () => p.tokens.getToken())),
    );
    expect(new Set(got).size).toBe(1);
    expect(fleet.auth0.tokensIssued).toBe(1);
    expect(fetchesOf(fleet.processes)).toBe(1);
    const token = got[0] as string;
    // Every process has the scopes it was granted, whoever fetched it.
    for (const p of fleet.processes) {
      expect(await p.tokens.scopes()).toEqual([
        "read:connections",
        "update:connections",
        "read:tenant_settings",
        "update:tenant_settings",
        "read:clients",
      ]);
    }

    // What Redis holds names no part of the token: not the JWT, not its payload or signature.
    const key = await fleet.key();
    const raw = (await fleet.redis.get(key)) as string;
    expect(raw).not.toContain(token);
    for (const part of token.split(".")) expect(raw).not.toContain(part);
    expect(JSON.parse(raw)).toMatchObject({ v: 1, scopes: expect.any(Array) });
    // Nor do the Redis key's name, the lock, or any log line.
    expect(key).not.toContain(fleet.auth0.clientSecret);
    expect(fleet.logs.join("\n")).not.toContain(token);

    const owner = {
      tenant: "default",
      clientId: fleet.auth0.clientId,
      audience: fleet.auth0.audience,
    };
    const right = new TokenSeal({ clientSecret: fleet.auth0.clientSecret }, owner);
    expect(right.open(raw, key)?.accessToken).toBe(token);
    // Reading Redis alone is not enough: another credential does not open it…
    const wrong = new TokenSeal({ clientSecret: "not-the-secret" }, owner);
    expect(wrong.open(raw, key)).toBeUndefined();
    // …nor does the right one for another tenant, or under another key name.
    expect(
      new TokenSeal({ clientSecret: fleet.auth0.clientSecret }, { ...owner, tenant: "other" }).open(
        raw,
        key,
      ),
    ).toBeUndefined();
    expect(right.open(raw, `${key}x`)).toBeUndefined();
    // The fields kept in clear are authenticated: a later expiry written in does not open.
    const extended = { ...JSON.parse(raw), expiresAt: JSON.parse(raw).expiresAt + 3_600_000 };
    expect(right.open(JSON.stringify(extended), key)).toBeUndefined();
  });

  it("a process with another client secret never reads the fleet's token", async () => {
    const fleet = await fleetOf(1);
    await fleet.processes[0]?.tokens.getToken();
    const other = startProcess(fleet.auth0, fleet.prefix, { clientSecret: "rotated-secret" });
    // It asks Auth0 itself (which refuses this secret) instead of taking the token it cannot open.
    const err = await other.tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenRequestError);
    expect((err as TokenRequestError).reason).toBe("invalid_client");
    expect(fleet.auth0.tokensIssued).toBe(1);
    // Each credential has its own entry: during a rotation, neither overwrites the other's.
    const entries = (await fleet.redis.keys(`${fleet.prefix}:auth0-token:*`)).filter(
      (k) => !/:(lock|failed)$/.test(k),
    );
    expect(entries).toHaveLength(1);
  });

  it("a 401 seen by every process: exactly one new token, whenever each sees it", async () => {
    const fleet = await fleetOf(5);
    const [first, ...others] = fleet.processes as [Process, ...Process[]];
    await Promise.all(fleet.processes.map((p) => p.client.getConnection(ACME.id)));
    expect(fleet.auth0.tokensIssued).toBe(1);

    fleet.auth0.revokeTokens();
    // One process meets the 401 first and gets the new token…
    await first.client.getConnection(ACME.id);
    expect(fleet.auth0.tokensIssued).toBe(2);
    // …the others meet it later, all at once, still holding the old one: they take the new one.
    await Promise.all(others.map((p) => p.client.getConnection(ACME.id)));
    expect(fleet.auth0.tokensIssued).toBe(2);

    // And all five at once, again: one more.
    fleet.auth0.revokeTokens();
    const round = fleet.auth0.requests.length;
    await Promise.all(
      fleet.processes.flatMap((p) => [1, 2, 3].map(() => p.client.getConnection(ACME.id))),
    );
    expect(fleet.auth0.tokensIssued).toBe(3);
    const gets = fleet.auth0
      .apiRequests("GET")
      .filter((r) => fleet.auth0.requests.indexOf(r) >= round);
    const ok = gets.filter((r) => r.status === 200);
    expect(ok).toHaveLength(15);
    expect(new Set(ok.map((r) => r.token)).size).toBe(1);
    expect(fetchesOf(fleet.processes)).toBe(3);
  });

  it("refreshed ahead of expiry once for the fleet, while every process keeps the current one", async () => {
    let now = Date.now();
    const fleet = await fleetOf(5, { tokenExpiresIn: 3600, now: () => now });
    const first = await Promise.all(fleet.processes.map((p) => p.tokens.getToken()));
    expect(new Set(first).size).toBe(1);
    now += 3300 * 1000; // inside the refresh margin (10 % of 3600 s), not yet expired
    const during = await Promise.all(fleet.processes.map((p) => p.tokens.getToken()));
    expect(during).toEqual(first); // served at once, refreshed in the background
    const fresh = await pollUntil(
      async () => {
        const tokens = await Promise.all(fleet.processes.map((p) => p.tokens.getToken()));
        return tokens.every((t) => t !== first[0]) ? tokens : undefined;
      },
      { timeoutMs: 5000, timedOut: () => new Error("the fleet did not take the refreshed token") },
    );
    expect(new Set(fresh).size).toBe(1);
    expect(fleet.auth0.tokensIssued).toBe(2);
    expect(fetchesOf(fleet.processes)).toBe(2);
  });

  it("a fetch that fails fails for the processes waiting on it, instead of each trying again", async () => {
    const fleet = await fleetOf(5);
    const [holder, ...waiters] = fleet.processes as [Process, ...Process[]];
    fleet.auth0.injectFault({ path: "/oauth/token", kind: "status", status: 503, delayMs: 500 });
    const failures = [holder.tokens.getToken().catch((e: unknown) => e)];
    await pollUntil(() => fleet.redis.exists(`${fleetKey(fleet)}:lock`), {
      timedOut: () => new Error("the first process did not take the lock"),
    });
    failures.push(...waiters.map((p) => p.tokens.getToken().catch((e: unknown) => e)));
    for (const err of await Promise.all(failures)) {
      expect(err).toBeInstanceOf(TokenRequestError);
      expect(err).toMatchObject({ reason: "server_error", retryable: true });
    }
    expect(tokenRequests(fleet.auth0)).toBe(1);
    // The next ask is a new attempt, and one for all again.
    await Promise.all(fleet.processes.map((p) => p.tokens.getToken()));
    expect(tokenRequests(fleet.auth0)).toBe(2);
    expect(fleet.auth0.tokensIssued).toBe(1);
  });

  it("a lock left by a process that died is taken over when it expires", async () => {
    const fleet = await fleetOf(2);
    await fleet.redis.set(`${fleetKey(fleet)}:lock`, "a-process-that-died", "PX", 400);
    const started = performance.now();
    const got = await Promise.all(fleet.processes.map((p) => p.tokens.getToken()));
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(new Set(got).size).toBe(1);
    expect(fleet.auth0.tokensIssued).toBe(1);
  });

  it("Redis unreachable: each process fetches its own token and says so; Auth0 calls go on", async () => {
    const server = await startRedisServer();
    const down = new Redis(server.url, { maxRetriesPerRequest: 0, lazyConnect: true });
    down.on("error", () => undefined);
    await server.stop();
    const fleet = await fleetOf(0);
    const { logger, logs } = capturedLogger("warn");
    const p = startProcess(fleet.auth0, fleet.prefix, { redis: down, logger });
    expect((await p.client.getConnection(ACME.id)).id).toBe(ACME.id);
    expect(fleet.auth0.tokensIssued).toBe(1);
    expect(logs.join("")).toMatch(/Redis did not answer for the shared Auth0 token/);
    // The token it fetched is kept in the process: the next calls need neither Redis nor a fetch.
    await p.client.getConnection(ACME.id);
    expect(fleet.auth0.tokensIssued).toBe(1);
  });
});

describe("the token's key, from the credential", () => {
  const owner = { tenant: "default", clientId: "client-1", audience: "https://acme/api/v2/" };
  const token = {
    accessToken: "header.payload.signature",
    refreshAtMs: 1,
    expiresAtMs: 2,
    scopes: ["read:connections"],
  };

  it("a private key derives the same key whatever form it comes in, and another key or key id does not open it", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pkcs8 = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" }) as string;
    const sealed = new TokenSeal({ privateKey: pkcs8 }, owner).seal(token, "k");
    expect(new TokenSeal({ privateKey: pkcs1 }, owner).open(sealed, "k")).toEqual(token);
    expect(new TokenSeal({ privateKey }, owner).open(sealed, "k")).toEqual(token);
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    expect(new TokenSeal({ privateKey: other }, owner).open(sealed, "k")).toBeUndefined();
    expect(new TokenSeal({ privateKey: pkcs8 }, owner).keyId).not.toBe(
      new TokenSeal({ privateKey: other }, owner).keyId,
    );
    // Another registered credential (kid) of the same key is another entry.
    const withKid = new TokenSeal({ privateKey, keyId: "kid-2" }, owner);
    expect(withKid.open(sealed, "k")).toBeUndefined();
    expect(withKid.keyId).not.toBe(new TokenSeal({ privateKey }, owner).keyId);
  });

  it("each sealing is new (fresh IV); a client id or audience of its own is another key", () => {
    const seal = new TokenSeal({ clientSecret: "s" }, owner);
    expect(seal.seal(token, "k")).not.toBe(seal.seal(token, "k"));
    const sealed = seal.seal(token, "k");
    for (const changed of [{ clientId: "client-2" }, { audience: "https://other/api/v2/" }]) {
      expect(
        new TokenSeal({ clientSecret: "s" }, { ...owner, ...changed }).open(sealed, "k"),
      ).toBeUndefined();
    }
  });
});

describe("worker processes", () => {
  let stack: Stack | undefined;
  const workers: BotProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.stop();
    await stack?.stop();
    stack = undefined;
  });

  it("three worker processes started together share one token, and one new one after a 401", async () => {
    stack = await startStack({ role: "bot" });
    const s = stack;
    const env = { ...s.env, LOG_LEVEL: "info", AUTH0_MAX_REQUESTS_PER_SECOND: "1000" };
    for (let i = 0; i < 3; i++) workers.push(await startBotProcess(["--role", "worker"], env));
    await Promise.all(workers.map((w) => w.waitForOutput(/promote-connection started/)));

    const redis = new Redis(s.env.REDIS_URL as string);
    cleanups.push(() => redis.disconnect());
    const prefix = s.env.REDIS_PREFIX as string;
    // Approved a while ago, so the workers do not wait for the bot's "approved" audit lines.
    const store = new RequestStore(redis, prefix, () => Date.now() - 15_000);
    const queue = new Queue<ChangeJobData>(CHANGE_QUEUE, { connection: redis, prefix });
    cleanups.push(() => queue.close());
    const promote = async (from: number, count: number) => {
      const ids: string[] = [];
      for (let i = from; i < from + count; i++) {
        const id = `con_Fleet${String(i).padStart(11, "0")}`;
        s.auth0.addConnection({
          id,
          name: `fleet-${i}`,
          strategy: "auth0",
          is_domain_connection: false,
        });
        const request = connectionRequest(
          { id, name: `fleet-${i}` },
          { requesterId: `U${String(i).padStart(8, "0")}` },
        );
        ids.push(await createApproved(store, request, APPROVER));
      }
      await Promise.all(ids.map((id) => enqueueChange(queue, id)));
      await s.slack.waitFor(
        () => s.auth0.apiRequests("PATCH").filter((r) => r.status === 200).length === from + count,
        { what: `${from + count} PATCHes`, timeoutMs: 25_000 },
      );
    };

    await promote(0, 30);
    expect(s.auth0.tokensIssued).toBe(1);
    // Every worker process had jobs, and every PATCH carried the same token, logged by none.
    for (const w of workers) expect(w.output()).toMatch(/change started/);
    const tokens = new Set(s.auth0.apiRequests("PATCH").map((r) => r.token));
    expect(tokens.size).toBe(1);
    for (const w of workers) expect(w.output()).not.toContain([...tokens][0]);

    s.auth0.revokeTokens();
    await promote(30, 30);
    expect(s.auth0.tokensIssued).toBe(2);
  }, 60_000);
});

function fleetKey(fleet: Fleet): string {
  return new SharedTokenCache({
    redis: fleet.redis,
    prefix: fleet.prefix,
    tenant: "default",
    clientId: fleet.auth0.clientId,
    audience: fleet.auth0.audience,
    credential: { clientSecret: fleet.auth0.clientSecret },
    lockMs: 1,
  }).key;
}

function tokenRequests(auth0: Auth0Emulator): number {
  return auth0.requests.filter((r) => r.path === "/oauth/token").length;
}
