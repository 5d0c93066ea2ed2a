import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { checkRedis } from "../src/doctor/redis.js";
import {
  NOWHERE,
  type SentinelSet,
  startSentinelSet,
  waitUntil,
} from "./support/redis-topologies.js";
import { ACME, APPROVER, ask, startStack, waitForAudit } from "./support/stack.js";

/*
 * Redis watched by Sentinels, as a production tenant's Redis often is: a real master and
 * replica (both with a password) and two real Sentinels (with a password of their own). The bot
 * knows only the Sentinels and the master's name.
 */

const PASSWORD = "sentinel-test-data-pw-5b1c";
const SENTINEL_PASSWORD = "sentinel-test-own-pw-9e3a";

let set: SentinelSet;

beforeAll(async () => {
  set = await startSentinelSet({ password: PASSWORD, sentinelPassword: SENTINEL_PASSWORD });
});
afterAll(async () => {
  await set?.stop();
});

const sentinelEnv = () => ({
  // The host is not used: the Sentinels say where the master is.
  REDIS_URL: `redis://:${PASSWORD}@${set.masterName}`,
  REDIS_SENTINELS: set.sentinels.map((s) => `${s.host}:${s.port}`).join(","),
  REDIS_SENTINEL_NAME: set.masterName,
  REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
});

describe("Redis behind Sentinels", () => {
  it("REDIS_URL naming the replica instead: the doctor says every write would fail, and what to set", async () => {
    const config = loadConfig({
      ...NOWHERE,
      REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${set.replica.port}`,
    });
    const [replica, ...rest] = await checkRedis(config, 2_000);
    expect(replica).toMatchObject({
      status: "fail",
      detail: `reachable at redis://:***@127.0.0.1:${set.replica.port}, but it is a replica (read-only): every write would fail`,
      fix: "set REDIS_URL to the master, or REDIS_SENTINELS to the Sentinels that watch it",
    });
    expect(rest.map((r) => r.detail)).toEqual(Array(3).fill("skipped: Redis is a replica"));
  });

  it("a promotion completes; then the master fails over to its replica, and the next request (a demotion) still completes, its state on the new master", async () => {
    const stack = await startStack({ env: sentinelEnv() });
    try {
      const [reachable] = await checkRedis(loadConfig(stack.env), 2_000);
      expect(reachable).toMatchObject({ status: "ok" });
      expect(reachable?.detail).toMatch(
        /^reachable at master "mymaster" from Sentinels 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ \(Sentinel; Redis 7\./,
      );

      const first = await ask(stack, ACME.id);
      await stack.click(APPROVER, "approve_request", first);
      await waitForAudit(stack, "promoted", first);
      expect(stack.auth0.connection(ACME.id)).toMatchObject({ is_domain_connection: true });

      await set.failover();
      expect(await set.masterPort()).toBe(set.replica.port);
      // Told by the Sentinels (+switch-master), every connection of the bot moves to the new
      // master: the state client, the audit relay's, each worker's two. Well before Sentinel
      // demotes the old master (failover-timeout, 4 s here), which is what would otherwise move
      // them, after writing to a node about to be wiped.
      const oldMaster = new Redis({ port: set.master.port, password: PASSWORD });
      const newMaster = new Redis({ port: set.replica.port, password: PASSWORD });
      try {
        const ours = async (node: Redis) =>
          ((await node.client("LIST")) as string)
            .split("\n")
            .filter((line) => /name=(promote-connection|test-)/.test(line)).length;
        await waitUntil(
          "the bot's connections on the new master, none on the old one",
          async () => (await ours(oldMaster)) === 0 && (await ours(newMaster)) >= 10,
          3_000,
        );

        const second = await ask(stack, `demote ${ACME.id}`);
        await stack.click(APPROVER, "approve_request", second);
        await waitForAudit(stack, "demoted", second, 20_000);
        expect(stack.auth0.connection(ACME.id)).toMatchObject({ is_domain_connection: false });

        // Both requests are on the new master, settled.
        const prefix = stack.env.REDIS_PREFIX as string;
        const states = await Promise.all(
          [first, second].map((id) => newMaster.hget(`${prefix}:request:${id}`, "state")),
        );
        expect(states).toEqual(["DONE", "DONE"]);
      } finally {
        oldMaster.disconnect();
        newMaster.disconnect();
      }
      expect(stack.logs.join("")).not.toContain(PASSWORD);
      expect(stack.logs.join("")).not.toContain(SENTINEL_PASSWORD);
    } finally {
      await stack.stop();
    }
  });
});
