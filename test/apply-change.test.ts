import { randomBytes } from "node:crypto";
import { DelayedError, type Job, Queue, RateLimitError, UnrecoverableError } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { Auth0UnreachableError, ManagementApiError } from "../src/auth0/errors.js";
import type { Connection } from "../src/auth0/management.js";
import { applyChangeProcessor } from "../src/jobs/apply-change.js";
import { Outbox, type OutboxMessage } from "../src/jobs/outbox.js";
import { type ChangeJobData, QUEUE_POLICIES } from "../src/jobs/queues.js";
import { createLogger } from "../src/log.js";
import { AuditLog } from "../src/requests/audit-log.js";
import type { ManagementApi } from "../src/requests/changes/index.js";
import { RequestStore } from "../src/requests/store.js";
import { connectionRequest, createApproved } from "./support/requests.js";

/**
 * The change processor's branches, one by one: what it does with each kind of Auth0 answer on
 * each attempt. Real Redis for the request and the outbox; the Management API is a small
 * in-memory tenant whose next answers the test sets.
 */

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.disconnect());

const ACME: Connection = {
  id: "con_Acme000000000001",
  name: "acme-db",
  display_name: "Acme Employees",
  strategy: "auth0",
  is_domain_connection: false,
};

/** A tenant with one connection; `failNext` makes the next calls throw, in order. */
class Tenant implements ManagementApi {
  connection: Connection = { ...ACME };
  patches: { id: string; value: boolean }[] = [];
  failNext: unknown[] = [];

  private maybeFail() {
    const err = this.failNext.shift();
    if (err) throw err;
  }
  async getConnection(id: string) {
    this.maybeFail();
    if (id !== this.connection.id) throw new Error("unknown connection");
    return { ...this.connection };
  }
  async findConnectionByName() {
    return undefined;
  }
  async listConnections() {
    return [{ ...this.connection }];
  }
  async setDomainLevel(current: Connection, value: boolean) {
    this.maybeFail();
    this.patches.push({ id: current.id, value });
    this.connection = { ...this.connection, is_domain_connection: value };
    return { ...this.connection };
  }
  async getTenantSettings() {
    return { flags: { enable_dynamic_client_registration: true } };
  }
  async setTenantFlags(flags: Record<string, boolean>) {
    return { flags };
  }
  async listThirdPartyApps() {
    return { count: 0, atLeast: false, names: [] };
  }
}

const rateLimited = () =>
  new ManagementApiError({ status: 429, method: "PATCH", path: "/x", retryAfterMs: 3_000 });
const unavailable = () => new ManagementApiError({ status: 503, method: "PATCH", path: "/x" });
const forbidden = () =>
  new ManagementApiError({
    status: 403,
    method: "PATCH",
    path: `/api/v2/connections/${ACME.id}`,
    errorCode: "insufficient_scope",
  });

let prefix: string;
let store: RequestStore;
let tenant: Tenant;
let outboxQueue: Queue<OutboxMessage>;
let outbox: Outbox;
let auditLog: AuditLog;
const holds: number[] = [];

beforeEach(() => {
  prefix = `apply-${randomBytes(4).toString("hex")}`;
  store = new RequestStore(redis, prefix, () => Date.now() - 60_000);
  tenant = new Tenant();
  outboxQueue = new Queue<OutboxMessage>(QUEUE_POLICIES.outbox.name, { connection: redis, prefix });
  outbox = new Outbox(outboxQueue);
  auditLog = new AuditLog(redis, prefix, 1_000);
  holds.length = 0;
});
afterEach(async () => {
  await outboxQueue.close();
});

function processor(
  options: {
    dryRun?: boolean;
    approvalsStillHold?: () => Promise<string | undefined>;
    retryWindowMs?: number;
  } = {},
) {
  const queue = { rateLimit: async (ms: number) => void holds.push(ms) };
  return applyChangeProcessor({
    store,
    auth0For: (name) => (name === "default" ? tenant : undefined),
    outbox,
    queue: queue as unknown as Queue<ChangeJobData>,
    approvalsStillHold: options.approvalsStillHold ?? (async () => undefined),
    dryRun: () => options.dryRun ?? false,
    retry: { windowMs: options.retryWindowMs ?? 0, spacing: { delay: 100, maxDelay: 1_000 } },
    logger: createLogger({ level: "silent" }),
  });
}

/** The job BullMQ would hand the processor on `attempt` (1-based) of the change policy. */
function job(requestId: string, attempt = 1): Job<ChangeJobData> {
  return {
    id: requestId,
    data: { requestId },
    attemptsStarted: attempt,
    attemptsMade: attempt - 1,
    opts: { attempts: QUEUE_POLICIES.change.attempts },
  } as unknown as Job<ChangeJobData>;
}

async function approvedRequest(overrides = {}) {
  return createApproved(store, connectionRequest(ACME, overrides), "UAPPROVER1");
}

/** The audit events recorded after the request and its approval, oldest first. */
async function auditEvents(): Promise<string[]> {
  const records = (await auditLog.recent({ limit: 100 })).reverse();
  return records.map((r) => r.event).filter((e) => !["requested", "approved"].includes(e));
}

/** Whether the requester was told, once, how it ended. */
async function requesterTold(requestId: string): Promise<number> {
  const jobs = await outboxQueue.getJobs(["wait"]);
  return jobs.filter((j) => j.data.kind === "dm" && j.data.requestId === requestId).length;
}

describe("the change processor", () => {
  it("applies the change, records DONE with Auth0's answer in words, and announces it", async () => {
    const id = await approvedRequest();
    expect(await processor()(job(id))).toBe("DONE");
    expect(tenant.patches).toEqual([{ id: ACME.id, value: true }]);
    const request = await store.get(id);
    expect(request?.state).toBe("DONE");
    expect(request?.outcome).toBe(
      'acme-db is now a domain-level connection (display name "Acme Employees" kept).',
    );
    expect(await auditEvents()).toEqual(["promoted"]);
    expect(await requesterTold(id)).toBe(1);
  });

  it("a dry run reads the connection and changes nothing", async () => {
    const id = await approvedRequest({ dryRun: true });
    expect(await processor()(job(id))).toBe("DONE");
    expect(tenant.patches).toEqual([]);
    expect((await store.get(id))?.outcome).toMatch(/^Dry run: would send PATCH/);
    expect(await auditEvents()).toEqual(["dry-run"]);
  });

  it("a 429 holds the queue until Auth0's reset, spends no attempt, and tells nobody", async () => {
    const id = await approvedRequest();
    tenant.failNext = [rateLimited()];
    await expect(processor({ retryWindowMs: 60_000 })(job(id))).rejects.toBeInstanceOf(
      RateLimitError,
    );
    expect(holds).toEqual([3_000]);
    expect(await store.get(id)).toMatchObject({ state: "APPROVED" });
    expect((await store.get(id))?.retryingUntil).toBeGreaterThan(Date.now());
    expect(await requesterTold(id)).toBe(0);
  });

  it("a 5xx or an unreachable Auth0, within the retry window: tried again later, the request untouched, people told once", async () => {
    const id = await approvedRequest();
    const errors = [unavailable(), new Auth0UnreachableError("x", "timed out"), unavailable()];
    for (const [i, err] of errors.entries()) {
      tenant.failNext = [err];
      const delayed: number[] = [];
      const attempt = job(id, i + 1);
      (attempt as unknown as { moveToDelayed: (ts: number) => Promise<void> }).moveToDelayed =
        async (ts) => void delayed.push(ts - Date.now());
      await expect(processor({ retryWindowMs: 60_000 })(attempt)).rejects.toBeInstanceOf(
        DelayedError,
      );
      // Doubling from 100 ms, capped at 1 s (this test's backoff), with a little jitter.
      expect(delayed[0]).toBeGreaterThan(100 * 2 ** i * 0.7);
      expect(delayed[0]).toBeLessThanOrEqual(100 * 2 ** i + 10);
      expect((await store.get(id))?.state).toBe("APPROVED");
    }
    expect(await auditEvents()).toEqual([]);
    // "Auth0 is unavailable; retrying until …": said once, whatever the number of tries.
    expect(await requesterTold(id)).toBe(1);
    const updates = (await outboxQueue.getJobs(["wait"])).filter(
      (j) => j.data.kind === "update-approval",
    );
    expect(updates).toHaveLength(1);
  });

  it("after the retry window a 5xx fails the request, in words that say what to do", async () => {
    const id = await approvedRequest();
    tenant.failNext = [unavailable()];
    await expect(processor({ retryWindowMs: 0 })(job(id, 9))).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    const request = await store.get(id);
    expect(request?.state).toBe("FAILED");
    expect(request?.outcome).toMatch(
      /^Auth0 was unavailable for the whole retry window .*: Auth0 answered 503 Service Unavailable\. Nothing was changed\. Check https:\/\/status\.auth0\.com/,
    );
    expect(await auditEvents()).toEqual(["failed"]);
  });

  it("a refusal that retrying cannot fix (403) fails at once, naming the missing scope", async () => {
    const id = await approvedRequest();
    tenant.failNext = [undefined, forbidden()];
    await expect(processor()(job(id, 1))).rejects.toBeInstanceOf(UnrecoverableError);
    expect((await store.get(id))?.outcome).toContain("update:connections");
    expect(tenant.patches).toEqual([]);
  });

  it("a request already settled is announced again, not applied again", async () => {
    const id = await approvedRequest();
    // A run that recorded the outcome, then died before telling anyone.
    await store.transition(id, "APPROVED", "DONE", {
      fields: { outcome: "done before", completedAt: 1 },
      event: "promoted",
    });
    expect(await processor()(job(id, 2))).toBe("DONE");
    expect(tenant.patches).toEqual([]);
    expect(await auditEvents()).toEqual(["promoted"]);
    expect(await requesterTold(id)).toBe(1);
  });

  it("a request approved after its expiry time is refused, and nothing is PATCHed", async () => {
    const id = await approvedRequest();
    const request = await store.get(id);
    await store.annotate(id, { decidedAt: (request?.expiresAt ?? 0) + 1 });
    await expect(processor()(job(id))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(tenant.patches).toEqual([]);
    expect(await store.get(id)).toMatchObject({ state: "FAILED" });
    expect((await store.get(id))?.outcome).toMatch(/approved after it expired/);
    expect(await auditEvents()).toEqual(["failed"]);
  });

  it("approvals that no longer hold (an approver removed since) stop the change", async () => {
    const id = await approvedRequest();
    const check = async () => "<@UAPPROVER1>, who approved it, is no longer an approver";
    await expect(processor({ approvalsStillHold: check })(job(id))).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    expect(tenant.patches).toEqual([]);
    expect((await store.get(id))?.outcome).toMatch(/no longer an approver/);
  });

  it("DRY_RUN on the worker is a kill switch: no PATCH, whatever the request recorded, and it says so", async () => {
    const id = await approvedRequest({ dryRun: false });
    expect(await processor({ dryRun: true })(job(id))).toBe("DONE");
    expect(tenant.patches).toEqual([]);
    expect(await store.get(id)).toMatchObject({ state: "DONE", dryRun: true });
    expect((await store.get(id))?.outcome).toMatch(/^DRY_RUN is set where the worker runs/);
    expect(await auditEvents()).toEqual(["dry-run"]);
  });

  it("no answer to the PATCH on the last attempt, yet the change is in place: DONE, not FAILED", async () => {
    const id = await approvedRequest();
    // Auth0 applies the change, then the answer is lost.
    tenant.setDomainLevel = async (current, value) => {
      tenant.patches.push({ id: current.id, value });
      tenant.connection = { ...tenant.connection, is_domain_connection: value };
      throw unavailable();
    };
    expect(await processor()(job(id, QUEUE_POLICIES.change.attempts))).toBe("DONE");
    expect((await store.get(id))?.outcome).toMatch(/reading it again shows it applied/);
    expect(await auditEvents()).toEqual(["promoted"]);
  });

  it("no answer to the PATCH and none to reading it again: the outcome is recorded as unknown", async () => {
    const id = await approvedRequest();
    tenant.failNext = [undefined, unavailable(), new Auth0UnreachableError("x", "timed out")];
    await expect(processor()(job(id, QUEUE_POLICIES.change.attempts))).rejects.toBeInstanceOf(
      UnrecoverableError,
    );
    expect(await store.get(id)).toMatchObject({ state: "UNKNOWN" });
    expect((await store.get(id))?.outcome).toMatch(/^Outcome unknown: check Auth0/);
    expect(await auditEvents()).toEqual(["outcome-unknown"]);
  });

  it("a request that is not approved is never applied", async () => {
    const created = await store.create(connectionRequest(ACME), {
      ttlMs: 60_000,
      maxOpenPerUser: 5,
    });
    if (!created.ok) throw new Error("not created");
    await expect(processor()(job(created.request.id))).rejects.toBeInstanceOf(UnrecoverableError);
    expect(tenant.patches).toEqual([]);
    expect((await store.get(created.request.id))?.state).toBe("PENDING");
  });
});
