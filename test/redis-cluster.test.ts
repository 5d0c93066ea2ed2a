import { randomBytes } from "node:crypto";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { checkRedis } from "../src/doctor/redis.js";
import { createRedisClient, scanKeys } from "../src/redis.js";
import { RequestStore } from "../src/requests/store.js";
import { UserRateLimit } from "../src/requests/user-rate-limit.js";
import { NOWHERE, type RedisCluster, startCluster } from "./support/redis-topologies.js";
import { connectionRequest } from "./support/requests.js";
import {
  ACME,
  APPROVER,
  REQUESTER,
  requestAndApprove,
  startStack,
  waitForAudit,
} from "./support/stack.js";

/*
 * A Redis Cluster of three real masters (with a password). A script sent with no declared key
 * goes to a random node, and one that touches keys of several slots is refused: the bot's keys
 * all carry one hash tag, and every script declares a key of that slot.
 */

const PASSWORD = "cluster-test-pw-41d7";

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startCluster(PASSWORD);
});
afterAll(async () => {
  await cluster?.stop();
});

/** Seeds: two of the three masters; the third is found from them. */
const clusterEnv = () => ({
  REDIS_URL: `redis://:${PASSWORD}@cluster`,
  REDIS_CLUSTER_NODES: cluster.nodes
    .slice(0, 2)
    .map((n) => `${n.host}:${n.port}`)
    .join(","),
});

/** Every key under `prefix:` with the slot it hashes to, whichever master holds it. */
async function keysWithSlots(client: Cluster, prefix: string): Promise<Map<string, number>> {
  const slots = new Map<string, number>();
  for await (const keys of scanKeys(client, `${prefix}:*`)) {
    for (const key of keys) slots.set(key, Number(await client.cluster("KEYSLOT", key)));
  }
  return slots;
}

describe("Redis Cluster", () => {
  it("a promotion completes end to end; every key the bot and BullMQ wrote is in the one slot of {REDIS_PREFIX}", async () => {
    const stack = await startStack({ env: clusterEnv() });
    const config = loadConfig(stack.env);
    expect(config.redis.prefix).toBe(`{${stack.env.REDIS_PREFIX}}`);
    const inspect = createRedisClient(config.redis, "promote-connection:test-inspect") as Cluster;
    try {
      const requestId = await requestAndApprove(stack);
      await waitForAudit(stack, "promoted", requestId);
      expect(stack.auth0.connection(ACME.id)).toMatchObject({ is_domain_connection: true });
      expect(await stack.storedRequests()).toMatchObject([{ id: requestId, state: "DONE" }]);

      const keys = await keysWithSlots(inspect, config.redis.prefix);
      const names = [...keys.keys()];
      // The request, its indexes, the audit stream, the per-person count, the fleet's Auth0
      // budget and token, and BullMQ's queues: all there, all in one slot.
      for (const part of [
        `:request:${requestId}`,
        ":audit",
        ":rate:",
        ":auth0-budget:",
        ":auth0-token:",
        ":promote:",
        ":slack-outbox:",
      ]) {
        expect(
          names.some((k) => k.includes(part)),
          `a key with ${part}`,
        ).toBe(true);
      }
      expect(new Set(keys.values()).size).toBe(1);

      const [reachable] = await checkRedis(config, 2_000);
      expect(reachable).toMatchObject({ status: "ok" });
      expect(reachable?.detail).toMatch(
        new RegExp(
          `^reachable at Cluster nodes 127\\.0\\.0\\.1:\\d+, 127\\.0\\.0\\.1:\\d+ \\(Cluster of 3 masters; keys under \\{${stack.env.REDIS_PREFIX}\\} in slot ${[...keys.values()][0]}; Redis 7\\.`,
        ),
      );
    } finally {
      inspect.disconnect();
      await stack.stop();
    }
  });

  it("the store's scripts run on the node of their slot: create, refuse, approve, move, migrate, forget", async () => {
    const prefix = `{test-${randomBytes(4).toString("hex")}}`;
    const settings = { ...loadConfig({ ...NOWHERE, ...clusterEnv() }).redis, prefix };
    const client = createRedisClient(settings, "promote-connection:test-store");
    let now = Date.now();
    const store = new RequestStore(client, prefix, { retentionMs: 60_000, now: () => now });
    try {
      // Enough requests that a script sent to a random node would have met the wrong one.
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const target = { id: `con_Cluster00000000${i}`, name: `cluster-db-${i}` };
        const created = await store.create(connectionRequest(target), {
          ttlMs: 3_600_000,
          maxOpenPerUser: 10,
        });
        if (!created.ok) throw new Error(`not created: ${created.reason}`);
        ids.push(created.request.id);
      }
      const [first, second, ...rest] = ids as [string, string, ...string[]];
      expect(await store.refuse(first, "UBYSTANDER", "not an approver", 60_000)).toBe(true);
      expect(await store.refuse(first, "UBYSTANDER", "not an approver", 60_000)).toBe(false);
      expect(await store.approve(first, APPROVER)).toMatchObject({ outcome: "approved" });
      expect(
        await store.transition(first, "APPROVED", "DONE", { event: "promoted" }),
      ).toMatchObject({ ok: true, request: { state: "DONE" } });
      expect(
        await store.transition(second, "PENDING", "DENIED", { event: "denied", actorId: APPROVER }),
      ).toMatchObject({ ok: true });
      for (const id of rest) {
        expect(
          await store.transition(id, "PENDING", "CANCELLED", { event: "cancelled" }),
        ).toMatchObject({
          ok: true,
        });
      }
      expect(await store.migrateLegacyRequests()).toBe(0);
      const limit = new UserRateLimit(client, prefix, { limit: 1, windowMs: 60_000 });
      expect(await limit.hit(REQUESTER)).toMatchObject({ allowed: true, count: 1 });

      // Past the retention, the settled requests leave the indexes: the per-requester index is
      // found by SCAN on whichever master holds it.
      now += 120_000;
      expect(await store.forgetSettled()).toBe(ids.length);
      expect(await store.requestsOf(REQUESTER)).toEqual([]);
      expect(await client.exists(`${prefix}:user-requests:${REQUESTER}`)).toBe(0);
    } finally {
      for await (const keys of scanKeys(client, `${prefix}:*`)) await client.del(...keys);
      client.disconnect();
    }
  });

  it("Cluster nodes that cannot be reached: the doctor says so, naming the setting", async () => {
    const config = loadConfig({
      ...NOWHERE,
      REDIS_URL: `redis://:${PASSWORD}@cluster`,
      REDIS_CLUSTER_NODES: "127.0.0.1:9",
    });
    const [refused] = await checkRedis(config, 1_000);
    expect(refused).toMatchObject({
      status: "fail",
      fix: "start the Cluster, or set REDIS_CLUSTER_NODES to nodes of it this host can reach",
    });
    expect(refused?.detail).toMatch(
      /^not reachable at Cluster nodes 127\.0\.0\.1:9: none of its nodes could be used \(/,
    );
  });
});
