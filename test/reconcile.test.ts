import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, expect, inject, it } from "vitest";
import { type ExpiryJobData, scheduleExpiry } from "../src/jobs/expiry.js";
import { Outbox, type OutboxMessage } from "../src/jobs/outbox.js";
import {
  CHANGE_QUEUE,
  type ChangeJobData,
  EXPIRY_QUEUE,
  OUTBOX_QUEUE,
} from "../src/jobs/queues.js";
import { reconcilePending } from "../src/jobs/reconcile.js";
import { createLogger } from "../src/log.js";
import { AuditLog } from "../src/requests/audit-log.js";
import { RequestStore } from "../src/requests/store.js";
import { connectionRequest, createApproved } from "./support/requests.js";
import {
  ACME,
  APPROVER,
  REQUESTER,
  type Stack,
  startStack,
  waitForAudit,
} from "./support/stack.js";

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

it("a request whose job was lost (the bot died right after recording it) gets its job when the worker starts", async () => {
  stack = await startStack({ role: "worker" });
  const s = stack;
  const redis = new Redis(s.env.REDIS_URL as string);
  const prefix = s.env.REDIS_PREFIX as string;
  // Requests created and approved 20 s ago, as a bot that died right after the transition left them.
  const store = new RequestStore(redis, prefix, () => Date.now() - 20_000);
  const id = await createApproved(
    store,
    connectionRequest(ACME, { requesterId: REQUESTER }),
    APPROVER,
  );
  // And a pending request whose expiry was never scheduled.
  s.auth0.addConnection({
    id: "con_Pending000000001",
    name: "pending",
    strategy: "auth0",
    is_domain_connection: false,
  });
  const pending = await store.create(
    connectionRequest({ id: "con_Pending000000001", name: "pending" }, { requesterId: REQUESTER }),
    { ttlMs: 3_600_000, maxOpenPerUser: 5 },
  );
  if (!pending.ok) throw new Error("not created");

  // The worker reconciles at start: restart it so it sees the orphan.
  await s.restart("worker");
  await waitForAudit(s, "promoted", id);
  expect(s.auth0.apiRequests("PATCH")).toHaveLength(1);

  const promote = new Queue<ChangeJobData>(CHANGE_QUEUE, { connection: redis, prefix });
  expect(await (await promote.getJob(id))?.getState()).toBe("completed");
  const expiry = new Queue<ExpiryJobData>(EXPIRY_QUEUE, { connection: redis, prefix });
  const deadline = Date.now() + 5_000;
  let expiryJob = await expiry.getJob(pending.request.id);
  while (!expiryJob && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    expiryJob = await expiry.getJob(pending.request.id);
  }
  if (!expiryJob) throw new Error("no expiry job was scheduled for the pending request");
  expect(await expiryJob.getState()).toBe("delayed");
  await promote.close();
  await expiry.close();
  redis.disconnect();
});

it("the reconciler expires an overdue pending request by its time, even when its expiry job is still waiting", async () => {
  const redis = new Redis(inject("redisUrl"));
  const prefix = `reconcile-${Math.random().toString(36).slice(2, 10)}`;
  const store = new RequestStore(redis, prefix);
  const expiryQueue = new Queue<ExpiryJobData>(EXPIRY_QUEUE, { connection: redis, prefix });
  const changeQueue = new Queue<ChangeJobData>(CHANGE_QUEUE, { connection: redis, prefix });
  const outboxQueue = new Queue<OutboxMessage>(OUTBOX_QUEUE, { connection: redis, prefix });
  try {
    const created = await store.create(connectionRequest(ACME), {
      ttlMs: 3_600_000,
      maxOpenPerUser: 5,
    });
    if (!created.ok) throw new Error("not created");
    const { id, expiresAt } = created.request;
    // Its expiry job exists, but would fire an hour from now (a stalled or lost worker).
    await scheduleExpiry(expiryQueue, id, expiresAt);

    await reconcilePending({
      store,
      queue: changeQueue,
      expiryQueue,
      outbox: new Outbox(outboxQueue),
      logger: createLogger({ level: "silent" }),
      now: () => expiresAt + 1,
    });

    expect((await store.get(id))?.state).toBe("EXPIRED");
    const events = (await new AuditLog(redis, prefix, 100).recent()).map((r) => r.event);
    expect(events).toEqual(["expired", "requested"]);
    const told = (await outboxQueue.getJobs(["wait"])).map((j) => j.data.kind).sort();
    expect(told).toEqual(["dm", "update-approval"]);
  } finally {
    await Promise.all([expiryQueue.close(), changeQueue.close(), outboxQueue.close()]);
    redis.disconnect();
  }
});
