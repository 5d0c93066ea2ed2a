/**
 * 6. What one request costs in Redis: the request and its indexes (kept for REQUEST_RETENTION
 * once settled), its audit events (the stream is capped at AUDIT_RETENTION events), and the
 * BullMQ jobs of its change and messages (kept a week). Measured as Redis's own used_memory
 * before and after recording many settled requests the way the bot does.
 */
import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import { Outbox, type OutboxMessage } from "../../jobs/outbox.js";
import { type ChangeJobData, enqueueChange, QUEUE_POLICIES } from "../../jobs/queues.js";
import { type RedisClient, scanKeys } from "../../redis.js";
import { RequestStore } from "../../requests/store.js";
import { progress, type Report } from "./report.js";
import { connection, requester } from "./world.js";

const COUNT = 2_000;

async function usedMemory(redis: RedisClient): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

async function keysBytes(redis: RedisClient, pattern: string): Promise<number> {
  let total = 0;
  for await (const keys of scanKeys(redis, pattern)) {
    for (const key of keys) total += Number(await redis.memory("USAGE", key, "SAMPLES", 0)) || 0;
  }
  return total;
}

export async function measureRedisMemory(redis: RedisClient, report: Report): Promise<void> {
  report.section = 6;
  progress(`6. recording ${COUNT} settled requests to weigh them in Redis`);
  const prefix = `bench-mem-${randomBytes(4).toString("hex")}`;
  const store = new RequestStore(redis, prefix);
  const changes = new Queue<ChangeJobData>(QUEUE_POLICIES.change.name, {
    connection: redis,
    prefix,
  });
  const messages = new Queue<OutboxMessage>(QUEUE_POLICIES.outbox.name, {
    connection: redis,
    prefix,
  });
  const outbox = new Outbox(messages);
  const before = await usedMemory(redis);
  try {
    for (let i = 0; i < COUNT; i++) {
      const c = connection(i);
      const created = await store.create(
        {
          kind: "connection-domain-level",
          tenant: "default",
          tenantDomain: "bench.test.auth0.com",
          action: "promote",
          target: {
            id: c.id,
            name: c.name,
            facts: {
              displayName: c.display_name ?? "",
              strategy: c.strategy,
              wasDomainConnection: "0",
              dcr: "on",
            },
          },
          reason: "onboarding a customer who asked for single sign-on",
          requesterId: requester(i),
          teamId: "T0BENCH01",
          requiredApprovals: 1,
          dryRun: false,
        },
        { ttlMs: 3_600_000, maxOpenPerUser: 5 },
      );
      if (!created.ok) throw new Error(`request ${i} not created: ${created.reason}`);
      const id = created.request.id;
      await store.annotate(id, { approvalChannel: "C0BENCH01", approvalTs: "1700000000.000100" });
      await store.approve(id, "UBAPPROVER");
      await enqueueChange(changes, id);
      const done = await store.transition(id, "APPROVED", "DONE", {
        fields: { outcome: `${c.name} is now a domain-level connection.`, completedAt: Date.now() },
        event: "promoted",
        detail: `${c.name} is now a domain-level connection.`,
      });
      if (done.ok) await outbox.settled(done.request, { tellRequester: true });
    }
    const after = await usedMemory(redis);
    const perRequest = (after - before) / COUNT;
    const audit = (await keysBytes(redis, `${prefix}:audit`)) / COUNT;
    const jobs =
      (await keysBytes(redis, `${prefix}:${QUEUE_POLICIES.change.name}:*`)) +
      (await keysBytes(redis, `${prefix}:${QUEUE_POLICIES.outbox.name}:*`));
    const request = (await keysBytes(redis, `${prefix}:request:*`)) / COUNT;
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
    report.row("Redis memory per settled request, all of it", kb(perRequest), "stated in README");
    report.row("  request, approvals (kept REQUEST_RETENTION)", kb(request));
    report.row("  its 3 audit events (stream capped)", kb(audit));
    report.row("  its BullMQ jobs, 1 change + 2 messages (kept 7 days)", kb(jobs / COUNT));
  } finally {
    await changes.obliterate({ force: true }).catch(() => undefined);
    await messages.obliterate({ force: true }).catch(() => undefined);
    await Promise.all([changes.close(), messages.close()]);
    for await (const keys of scanKeys(redis, `${prefix}:*`)) await redis.del(...keys);
  }
}
