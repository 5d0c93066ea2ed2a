import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { request as httpRequest } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "../src/dev/harness/poll.js";
import { CHANGE_QUEUE } from "../src/jobs/queues.js";
import {
  ACME,
  APPROVER,
  AUDIT_CHANNEL,
  ask,
  BYSTANDER,
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

/** Waits, polling, until the clock is past a request's expiry time. */
async function pastExpiry(s: Stack, requestId: string): Promise<void> {
  const stored = (await s.storedRequests()).find((r) => r.id === requestId);
  if (!stored) throw new Error(`no request ${requestId}`);
  await pollUntil(() => Date.now() > stored.expiresAt + 50, {
    timeoutMs: 10_000,
    timedOut: () => new Error("the clock never passed the request's expiry"),
  });
}

async function stateOf(s: Stack, requestId: string) {
  return (await s.storedRequests()).find((r) => r.id === requestId)?.state;
}

function eventsOf(s: Stack, requestId: string): string[] {
  return s
    .auditTexts()
    .filter((t) => t.split(" ")[1] === requestId)
    .map((t) => t.split(" ")[0] as string);
}

async function metric(s: Stack, name: string): Promise<number> {
  const res = await httpRequest(s.eventsUrl.replace(/\/slack\/events$/, "/metrics"));
  const text = await res.body.text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

describe("expiry is enforced by time, not by a job", () => {
  it("with no worker running, an Approve after the request's time is refused and nothing is ever PATCHed", async () => {
    // Only the bot runs: no expiry job can fire.
    stack = await startStack({ role: "bot", env: { REQUEST_TTL: "2s" } });
    const s = stack;
    const requestId = await ask(s, ACME.id);
    await pastExpiry(s, requestId);

    const click = await s.click(APPROVER, "approve_request", requestId);
    expect(await s.waitForReply(click.responseUrl, /expired at/)).toContain(requestId);
    expect(await stateOf(s, requestId)).toBe("EXPIRED");
    await waitForAudit(s, "expired", requestId);
    expect(eventsOf(s, requestId)).toEqual(["requested", "expired"]);

    // Workers come back: nothing was queued, nothing is applied.
    await s.restart("all");
    const redis = new Redis(s.env.REDIS_URL as string);
    const queue = new Queue(CHANGE_QUEUE, { connection: redis, prefix: s.env.REDIS_PREFIX });
    try {
      expect(await queue.getJob(requestId)).toBeUndefined();
    } finally {
      await queue.close();
      redis.disconnect();
    }
    expect(s.auth0.apiRequests("PATCH")).toHaveLength(0);
    expect(await stateOf(s, requestId)).toBe("EXPIRED");
  });

  it("a Deny submitted after the request's time is refused the same way", async () => {
    stack = await startStack({ role: "bot", env: { REQUEST_TTL: "2s" } });
    const s = stack;
    const requestId = await ask(s, ACME.id);
    // The approver opens the dialog in time, and submits it too late.
    await s.deny(APPROVER, requestId, "not now", () => pastExpiry(s, requestId));
    const told = await s.slack.waitFor(() =>
      s.slack.messages(APPROVER).find((m) => /expired at/.test(m.text ?? "")),
    );
    expect(told.text).toContain(requestId);
    expect(await stateOf(s, requestId)).toBe("EXPIRED");
    await waitForAudit(s, "expired", requestId);
    expect(eventsOf(s, requestId)).not.toContain("denied");
  });
});

describe("the audit trail", () => {
  it("held while the bot is out of the audit channel: nothing is skipped, and every line arrives in order once it is back", async () => {
    stack = await startStack();
    const s = stack;
    const requestId = await ask(s, ACME.id);
    await waitForAudit(s, "requested", requestId);

    // Someone removes the bot from the audit channel; the request goes on meanwhile.
    s.slack.setChannelMembership(AUDIT_CHANNEL, false);
    await s.click(APPROVER, "approve_request", requestId);
    await pollUntil(() => s.auth0.connection(ACME.id)?.is_domain_connection === true, {
      timeoutMs: 15_000,
      timedOut: () => new Error("the promotion never happened"),
    });
    // The hold is visible: a metric, and an error line in the log.
    await pollUntil(async () => (await metric(s, "promote_connection_audit_relay_blocked")) === 1, {
      timeoutMs: 10_000,
      timedOut: () => new Error("the relay never reported itself held"),
    });
    expect(await metric(s, "promote_connection_audit_relay_lag_events")).toBeGreaterThanOrEqual(2);
    expect(s.logs.some((l) => l.includes("audit relay held") && l.includes("not_in_channel"))).toBe(
      true,
    );
    expect(eventsOf(s, requestId)).toEqual(["requested"]);

    // Invited back: Slack sends member_joined_channel, and the held lines follow, in order.
    s.slack.setChannelMembership(AUDIT_CHANNEL, true);
    await s.event({
      type: "member_joined_channel",
      user: s.slack.botUserId,
      channel: AUDIT_CHANNEL,
    });
    await waitForAudit(s, "promoted", requestId, 10_000);
    expect(eventsOf(s, requestId)).toEqual(["requested", "approved", "promoted"]);
    expect(await metric(s, "promote_connection_audit_relay_blocked")).toBe(0);
    expect(await metric(s, "promote_connection_audit_relay_lag_events")).toBe(0);
  });

  it("60 refused clicks by one person make one audit line, and the real lines are not delayed behind them", async () => {
    // Above the per-person rate limit, which would otherwise answer most of them first.
    stack = await startStack({ env: { USER_RATE_LIMIT: "100/1m" } });
    const s = stack;
    const requestId = await ask(s, ACME.id);
    const clicks = await Promise.all(
      Array.from({ length: 60 }, () => s.click(BYSTANDER, "approve_request", requestId)),
    );
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    // Every click is still answered.
    await s.slack.waitFor(
      () =>
        clicks.every((c) => s.replies(c.responseUrl).some((t) => /cannot approve/.test(t))) ||
        undefined,
      { what: "an answer to each refused click", timeoutMs: 15_000 },
    );
    await s.click(APPROVER, "approve_request", requestId);
    await waitForAudit(s, "promoted", requestId, 10_000);
    expect(eventsOf(s, requestId)).toEqual(["requested", "refused", "approved", "promoted"]);
  });

  it("every state change is in the trail, in the order it happened", async () => {
    stack = await startStack({ env: { REQUIRED_APPROVALS: "2" } });
    const s = stack;
    const requestId = await ask(s, ACME.id);
    const first = await s.click(APPROVER, "approve_request", requestId);
    await s.waitForReply(first.responseUrl, /approval of .* is recorded/);
    const own = await s.click(REQUESTER, "approve_request", requestId);
    await s.waitForReply(own.responseUrl, /cannot approve/);
    await s.click("UAPPROVER2", "approve_request", requestId);
    await waitForAudit(s, "promoted", requestId);
    expect(eventsOf(s, requestId)).toEqual([
      "requested",
      "approval",
      "refused",
      "approved",
      "promoted",
    ]);
  });
});
