import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeEach, describe, expect, inject, it } from "vitest";
import { AuditLog } from "../src/requests/audit-log.js";
import { RequestStore } from "../src/requests/store.js";
import { connectionRequest } from "./support/requests.js";

/**
 * The store's Lua transitions, straight against Redis: the rules every click, command and job
 * relies on, without Slack or Auth0 in between.
 */

const redis = new Redis(inject("redisUrl"));
afterAll(() => redis.disconnect());

const ACME = { id: "con_Acme000000000001", name: "acme-db" };
const OTHER = { id: "con_Other00000000001", name: "other-db" };
const OPTIONS = { ttlMs: 3_600_000, maxOpenPerUser: 2 };

let prefix: string;
let store: RequestStore;
beforeEach(() => {
  prefix = `store-${randomBytes(4).toString("hex")}`;
  store = new RequestStore(redis, prefix);
});

async function created(request = connectionRequest(ACME)) {
  const result = await store.create(request, OPTIONS);
  if (!result.ok) throw new Error(`not created: ${result.reason}`);
  return result.request;
}

describe("creating a request", () => {
  it("stores it PENDING, and reads back what was stored", async () => {
    const request = await created(connectionRequest(ACME, { reason: "onboarding" }));
    const read = await store.get(request.id);
    expect(read).toEqual(request);
    expect(read?.state).toBe("PENDING");
    expect(read?.target.facts).toMatchObject({ strategy: "auth0", wasDomainConnection: "0" });
    expect(await store.idsInState("PENDING")).toEqual([request.id]);
  });

  it("refuses a second open request for the same change, naming the first; stores nothing", async () => {
    const first = await created();
    const again = await store.create(connectionRequest(ACME), OPTIONS);
    expect(again).toEqual({ ok: false, reason: "duplicate", openRequestId: first.id });
    expect(await store.idsInState("PENDING")).toEqual([first.id]);
  });

  it("keeps tenant, kind, action and target apart: another action or tenant is another change", async () => {
    await created();
    const demote = await store.create(connectionRequest(ACME, { action: "demote" }), OPTIONS);
    const otherTenant = await store.create(connectionRequest(ACME, { tenant: "prod" }), {
      ...OPTIONS,
      maxOpenPerUser: 5,
    });
    expect(demote.ok).toBe(true);
    expect(otherTenant.ok).toBe(true);
  });

  it("refuses a requester who holds the most open requests allowed", async () => {
    await created(connectionRequest(ACME));
    await created(connectionRequest(OTHER));
    const third = await store.create(
      connectionRequest({ id: "con_Third00000000001", name: "third" }),
      OPTIONS,
    );
    expect(third).toEqual({ ok: false, reason: "limit", open: 2 });
  });
});

describe("moving a request between states", () => {
  it("moves only from the state named, and a settled request frees its target", async () => {
    const request = await created();
    expect(await store.transition(request.id, "APPROVED", "DONE")).toEqual({
      ok: false,
      reason: "conflict",
      current: "PENDING",
    });
    const moved = await store.transition(request.id, "PENDING", "CANCELLED", {
      fields: { completedAt: 5 },
    });
    expect(moved).toMatchObject({ ok: true, request: { state: "CANCELLED", completedAt: 5 } });
    expect(await store.idsInState("PENDING")).toEqual([]);
    expect(await store.idsInState("CANCELLED")).toEqual([request.id]);
    // The target and the requester's slot are free again.
    expect((await store.create(connectionRequest(ACME), OPTIONS)).ok).toBe(true);
    expect(await store.transition("req_0000000000", "PENDING", "DENIED")).toEqual({
      ok: false,
      reason: "missing",
    });
  });

  it("approves once the quorum of distinct approvers is reached; the same person counts once", async () => {
    const request = await created(connectionRequest(ACME, { requiredApprovals: 2 }));
    expect(await store.approve(request.id, "UAPPROVER1")).toMatchObject({
      outcome: "recorded",
      request: { state: "PENDING", approvals: ["UAPPROVER1"] },
    });
    expect(await store.approve(request.id, "UAPPROVER1")).toMatchObject({
      outcome: "duplicate",
    });
    const approved = await store.approve(request.id, "UAPPROVER2");
    expect(approved).toMatchObject({
      outcome: "approved",
      request: {
        state: "APPROVED",
        decidedBy: "UAPPROVER2",
        approvals: ["UAPPROVER1", "UAPPROVER2"],
      },
    });
    expect(await store.approve(request.id, "UAPPROVER3")).toEqual({
      outcome: "conflict",
      current: "APPROVED",
    });
    // Still open while APPROVED: no second request for the same change.
    expect((await store.create(connectionRequest(ACME), OPTIONS)).ok).toBe(false);
  });

  it("two approvals racing for the last slot approve once", async () => {
    const request = await created();
    const outcomes = await Promise.all(
      ["UAPPROVER1", "UAPPROVER2", "UAPPROVER3"].map((u) => store.approve(request.id, u)),
    );
    expect(outcomes.filter((o) => o.outcome === "approved")).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === "conflict")).toHaveLength(2);
  });
});

describe("the audit trail, written in the same step as each change", () => {
  const events = async () =>
    (await new AuditLog(redis, prefix, 1_000).recent({ limit: 100 }))
      .reverse()
      .map((r) => `${r.event}${r.actorId ? ` by ${r.actorId}` : ""}`);

  it("records each change with its event, and a change that does not happen records none", async () => {
    const request = await created(connectionRequest(ACME, { requiredApprovals: 2 }));
    await store.approve(request.id, "UAPPROVER1");
    await store.approve(request.id, "UAPPROVER1"); // the same person again: nothing new
    await store.transition(request.id, "APPROVED", "DONE", { event: "promoted" }); // conflict
    await store.approve(request.id, "UAPPROVER2");
    await store.transition(request.id, "APPROVED", "DONE", { event: "promoted", detail: "ok" });
    expect(await events()).toEqual([
      "requested by UREQUESTER",
      "approval by UAPPROVER1",
      "approved by UAPPROVER2",
      "promoted",
    ]);
  });

  it("a decision after the request's time expires it instead, in the same step, whatever job ran", async () => {
    const request = await created();
    const late = new RequestStore(redis, prefix, () => request.expiresAt + 1);
    expect(await late.approve(request.id, "UAPPROVER1")).toMatchObject({
      outcome: "expired",
      expiresAt: request.expiresAt,
      request: { state: "EXPIRED", approvals: [] },
    });
    const other = await created(connectionRequest(OTHER));
    const later = new RequestStore(redis, prefix, () => other.expiresAt);
    expect(
      await later.transition(other.id, "PENDING", "DENIED", { event: "denied", actorId: "UA" }),
    ).toEqual({ ok: false, reason: "expired", expiresAt: other.expiresAt });
    expect((await store.get(other.id))?.state).toBe("EXPIRED");
    expect(await events()).toEqual([
      "requested by UREQUESTER",
      "expired",
      "requested by UREQUESTER",
      "expired",
    ]);
    // Both freed their targets.
    expect((await store.create(connectionRequest(ACME), OPTIONS)).ok).toBe(true);
  });

  it("refused clicks by one person on one request are recorded once per window", async () => {
    const request = await created();
    expect(await store.refuse(request.id, "UBYSTANDER", "approve refused", 60_000)).toBe(true);
    expect(await store.refuse(request.id, "UBYSTANDER", "deny refused", 60_000)).toBe(false);
    expect(await store.refuse(request.id, "UOTHER0001", "approve refused", 60_000)).toBe(true);
    expect(await store.refuse("req_0000000000", "UBYSTANDER", "no such request", 60_000)).toBe(
      false,
    );
    expect(await events()).toEqual([
      "requested by UREQUESTER",
      "refused by UBYSTANDER",
      "refused by UOTHER0001",
    ]);
  });

  it("a settled request is forgotten after the retention; an open one is kept", async () => {
    const short = new RequestStore(redis, prefix, { retentionMs: 60_000 });
    const settled = await created();
    await short.transition(settled.id, "PENDING", "CANCELLED", { event: "cancelled" });
    const open = await created(connectionRequest(OTHER));
    expect(await redis.pttl(`${prefix}:request:${settled.id}`)).toBeGreaterThan(50_000);
    expect(await redis.pttl(`${prefix}:request:${open.id}`)).toBe(-1);

    // Past the retention, the indexes let go of it too; the open request stays everywhere.
    const later = new RequestStore(redis, prefix, {
      retentionMs: 60_000,
      now: () => Date.now() + 120_000,
    });
    await redis.del(`${prefix}:request:${settled.id}`); // as its expiry would have
    expect(await later.forgetSettled()).toBe(1);
    expect(await store.idsInState("CANCELLED")).toEqual([]);
    expect((await store.requestsOf("UREQUESTER")).map((r) => r.id)).toEqual([open.id]);
    expect(await redis.zrange(`${prefix}:user-requests:UREQUESTER`, "0", "-1")).toEqual([open.id]);
    expect(await store.idsInState("PENDING")).toEqual([open.id]);
  });
});

describe("requests stored before change kinds", () => {
  /** What the bot wrote for a pending promotion before requests had a kind and a tenant. */
  async function storeLegacy(id: string, state: "PENDING" | "DONE") {
    await redis.hset(`${prefix}:request:${id}`, {
      id,
      action: "promote",
      state,
      connectionId: ACME.id,
      connectionName: ACME.name,
      displayName: "Acme Employees",
      strategy: "auth0",
      wasDomainConnection: "0",
      reason: "from before",
      requesterId: "UREQUESTER",
      teamId: "T0TEST001",
      dcr: "off",
      createdAt: "1000",
      requiredApprovals: "1",
      dryRun: "0",
      expiresAt: String(Date.now() + 3_600_000),
    });
    await redis.zadd(`${prefix}:state:${state}`, 1000, id);
    if (state === "PENDING") {
      await redis.set(`${prefix}:open:promote:${ACME.id}`, id);
      await redis.sadd(`${prefix}:user-open:UREQUESTER`, id);
    }
  }

  it("load in today's shape", async () => {
    await storeLegacy("req_0000000001", "DONE");
    expect(await store.get("req_0000000001")).toMatchObject({
      kind: "connection-domain-level",
      tenant: "default",
      action: "promote",
      state: "DONE",
      target: {
        id: ACME.id,
        name: ACME.name,
        facts: {
          displayName: "Acme Employees",
          strategy: "auth0",
          wasDomainConnection: "0",
          dcr: "off",
        },
      },
    });
  });

  it("an open one still blocks a duplicate once migrated, and frees its target when settled", async () => {
    await storeLegacy("req_0000000002", "PENDING");
    const before = await store.get("req_0000000002");
    expect(await store.migrateLegacyRequests()).toBe(1);
    expect(await store.migrateLegacyRequests()).toBe(0);
    expect(await store.get("req_0000000002")).toEqual(before);
    expect(await redis.exists(`${prefix}:open:promote:${ACME.id}`)).toBe(0);

    expect(await store.create(connectionRequest(ACME), OPTIONS)).toEqual({
      ok: false,
      reason: "duplicate",
      openRequestId: "req_0000000002",
    });
    await store.transition("req_0000000002", "PENDING", "EXPIRED");
    expect((await store.create(connectionRequest(ACME), OPTIONS)).ok).toBe(true);
  });
});

describe("what Redis alone can refuse, before Auth0 is asked (refusalFor)", () => {
  const change = { tenant: "default", kind: "connection-domain-level", action: "promote" } as const;
  const asker = (requesterId: string) => ({ ...change, requesterId });

  it("an open request for the same change, found by the target's id or by its name", async () => {
    const first = await created();
    const duplicate = { ok: false, reason: "duplicate", openRequestId: first.id };
    const other = asker("UOTHER0001");
    expect(await store.refusalFor(other, { kind: "id", id: ACME.id }, 2)).toEqual(duplicate);
    expect(await store.refusalFor(other, { kind: "name", name: ACME.name }, 2)).toEqual(duplicate);
    const demote = { ...other, action: "demote" as const };
    expect(await store.refusalFor(demote, { kind: "name", name: ACME.name }, 2)).toBeUndefined();
    expect(await store.refusalFor(other, { kind: "name", name: OTHER.name }, 2)).toBeUndefined();

    // Settled, the request no longer holds its target, under either key.
    await store.transition(first.id, "PENDING", "DENIED");
    expect(await store.refusalFor(other, { kind: "name", name: ACME.name }, 2)).toBeUndefined();
    expect(
      await redis.exists(
        `${prefix}:open-name:default:connection-domain-level:promote:${ACME.name}`,
      ),
    ).toBe(0);
  });

  it("a requester who holds the most open requests allowed", async () => {
    await created(connectionRequest(ACME));
    const me = asker("UREQUESTER");
    expect(await store.refusalFor(me, { kind: "id", id: OTHER.id }, 2)).toBeUndefined();
    expect(await store.refusalFor(me, { kind: "id", id: OTHER.id }, 1)).toEqual({
      ok: false,
      reason: "limit",
      open: 1,
    });
  });
});
