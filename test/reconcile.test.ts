import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, expect, it } from "vitest";
import type { ExpiryJobData } from "../src/jobs/expiry.js";
import { CHANGE_QUEUE, type ChangeJobData, EXPIRY_QUEUE } from "../src/jobs/queues.js";
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
