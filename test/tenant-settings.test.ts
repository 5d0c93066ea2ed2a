import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, inject, it } from "vitest";
import {
  createTransport,
  ManagementApiError,
  ManagementClient,
  RateLimiter,
  TenantSettingsCache,
} from "../src/auth0/index.js";
import { pollUntil } from "../src/dev/harness/poll.js";
import { tokenProviderFor } from "./support/auth0-client.js";
import {
  type Auth0Emulator,
  type Auth0EmulatorOptions,
  startAuth0Emulator,
} from "./support/auth0-emulator.js";
import { startRedisServer } from "./support/redis-server.js";
import {
  ACME,
  ALREADY_DOMAIN,
  APPROVAL_CHANNEL,
  ask,
  type Stack,
  startStack,
} from "./support/stack.js";

/**
 * The tenant's Dynamic Client Registration flag, read once a minute for the whole fleet instead
 * of once a request: a request costs one Management API call.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SETTINGS_PATH = "/api/v2/tenants/settings";

async function emulator(options: Auth0EmulatorOptions = {}): Promise<Auth0Emulator> {
  const auth0 = await startAuth0Emulator(options);
  cleanups.push(() => auth0.close());
  return auth0;
}

/** A process's Management API client with the fleet's settings cache, on `redis` (or its own). */
function processOf(
  auth0: Auth0Emulator,
  prefix: string,
  opts: { ttlMs?: number; redis?: Redis } = {},
): { client: ManagementClient; cache: TenantSettingsCache } {
  const redis = opts.redis ?? new Redis(inject("redisUrl"));
  const transport = createTransport({ timeoutMs: 2000 });
  cleanups.push(
    () => redis.disconnect(),
    () => transport.close(),
  );
  const tokens = tokenProviderFor(auth0, transport);
  const cache = new TenantSettingsCache({
    redis,
    prefix,
    tenant: "default",
    baseUrl: auth0.url,
    ttlMs: opts.ttlMs,
  });
  const client = new ManagementClient({
    baseUrl: auth0.url,
    tokens,
    transport,
    limiter: new RateLimiter({ perSecond: 1000 }),
    tenantSettings: cache,
  });
  return { client, cache };
}

const newPrefix = () => `test-${randomBytes(5).toString("hex")}`;
const dcr = async (client: ManagementClient) =>
  (await client.getTenantSettings()).flags?.enable_dynamic_client_registration;

describe("the tenant's settings, shared for a minute", () => {
  it("two reads within the TTL make one call; after it, the flag is read anew", async () => {
    const auth0 = await emulator();
    const { client, cache } = processOf(auth0, newPrefix(), { ttlMs: 400 });
    expect(await dcr(client)).toBe(true);
    auth0.setDynamicClientRegistration(false);
    expect(await dcr(client)).toBe(true);
    expect(auth0.apiRequests("GET", SETTINGS_PATH)).toHaveLength(1);

    const redis = new Redis(inject("redisUrl"));
    cleanups.push(() => redis.disconnect());
    await pollUntil(async () => (await redis.exists(cache.key)) === 0, {
      timeoutMs: 5000,
      timedOut: () => new Error("the cached settings did not expire"),
    });
    expect(await dcr(client)).toBe(false);
    expect(auth0.apiRequests("GET", SETTINGS_PATH)).toHaveLength(2);
  });

  it("is shared by every process on the Redis, and read once for 20 callers at once", async () => {
    const auth0 = await emulator();
    const prefix = newPrefix();
    const processes = [processOf(auth0, prefix), processOf(auth0, prefix)];
    const [first, second] = processes.map((p) => p.client) as [ManagementClient, ManagementClient];
    const flags = await Promise.all(Array.from({ length: 20 }, () => dcr(first)));
    expect(flags).toEqual(Array(20).fill(true));
    expect(await dcr(second)).toBe(true);
    expect(auth0.apiRequests("GET", SETTINGS_PATH)).toHaveLength(1);
    // Another tenant behind the same name (AUTH0_DOMAIN changed) is not served this one's.
    const elsewhere = await emulator({ dynamicClientRegistration: false });
    expect(await dcr(processOf(elsewhere, prefix).client)).toBe(false);
  });

  it("a refusal is not kept: without read:tenant_settings every read asks again", async () => {
    const auth0 = await emulator({ scopes: ["read:connections", "update:connections"] });
    const { client, cache } = processOf(auth0, newPrefix());
    for (let i = 0; i < 2; i++) {
      const err = await client.getTenantSettings().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ManagementApiError);
      expect((err as ManagementApiError).status).toBe(403);
    }
    expect(auth0.apiRequests("GET", SETTINGS_PATH)).toHaveLength(2);
    const redis = new Redis(inject("redisUrl"));
    cleanups.push(() => redis.disconnect());
    expect(await redis.exists(cache.key)).toBe(0);
  });

  it("Redis unreachable: the flag is read from Auth0", async () => {
    const server = await startRedisServer();
    const down = new Redis(server.url, { maxRetriesPerRequest: 0, lazyConnect: true });
    down.on("error", () => undefined);
    await server.stop();
    const auth0 = await emulator({ dynamicClientRegistration: false });
    const { client } = processOf(auth0, newPrefix(), { redis: down });
    expect(await dcr(client)).toBe(false);
  });
});

describe("through the bot", () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.stop();
    stack = undefined;
  });

  it("two requests within a minute cost one call each (their lookup), and both warn that DCR is off", async () => {
    stack = await startStack({ auth0: { dynamicClientRegistration: false } });
    const s = stack;
    await ask(s, ACME.id);
    const afterFirst = s.auth0.apiRequests().length;
    s.auth0.addConnection({
      ...ALREADY_DOMAIN,
      id: "con_Other00000000001",
      name: "other-db",
      is_domain_connection: false,
    });
    await ask(s, "con_Other00000000001");
    expect(s.auth0.apiRequests().length - afterFirst).toBe(1);
    expect(s.auth0.apiRequests("GET", SETTINGS_PATH)).toHaveLength(1);
    const approvals = s.slack.messages(APPROVAL_CHANNEL);
    expect(approvals).toHaveLength(2);
    for (const message of approvals) {
      expect(JSON.stringify(message.blocks)).toContain("Dynamic Client Registration is off");
    }
  });
});
