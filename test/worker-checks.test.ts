import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { CHANGE_QUEUE } from "../src/jobs/queues.js";
import {
  ACME,
  APPROVAL_CHANNEL,
  APPROVER,
  APPROVER_GROUP,
  ask,
  BYSTANDER,
  GROUP_APPROVER,
  REQUESTER,
  requestAndApprove,
  type Stack,
  startStack,
  waitForAudit,
} from "./support/stack.js";

/**
 * What the worker checks again before it changes anything, whatever the bot recorded: the
 * approvers (asked fresh) and the kill switch, while the approved request waits for a worker, as
 * it does when workers are down or busy.
 */

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

describe("the worker's last checks", () => {
  it("an approver removed from the approver group since approving: the worker asks Slack afresh and refuses", async () => {
    stack = await startStack();
    const s = stack;
    // Workers are busy elsewhere: the approved change waits in the queue.
    const redis = new Redis(s.env.REDIS_URL as string);
    const queue = new Queue(CHANGE_QUEUE, { connection: redis, prefix: s.env.REDIS_PREFIX });
    try {
      await queue.pause();
      // The bot checked (and cached) the group's members at the click.
      const requestId = await requestAndApprove(s, ACME.id, { approver: GROUP_APPROVER });
      await waitForAudit(s, "approved", requestId);
      s.slack.setUsergroup(APPROVER_GROUP, []);
      await queue.resume();

      const line = await waitForAudit(s, "failed", requestId);
      expect(line).toContain("no longer an approver");
      expect(s.auth0.apiRequests("PATCH")).toHaveLength(0);
      const dm = await s.slack.waitFor(() => s.slack.messages(REQUESTER).at(-1));
      expect(dm.text).toContain("no longer an approver");
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });

  it("DRY_RUN on the worker: a request made for real is not PATCHed, and every message says dry run", async () => {
    stack = await startStack({ role: "bot" });
    const s = stack;
    const requestId = await requestAndApprove(s);
    await waitForAudit(s, "approved", requestId);

    s.env.DRY_RUN = "true";
    await s.restart("worker");
    const line = await waitForAudit(s, "dry-run", requestId);
    expect(line).toContain("[dry run]");
    expect(line).toContain("is set where the worker runs");
    expect(s.auth0.apiRequests("PATCH")).toHaveLength(0);
    expect(s.auth0.connection(ACME.id)?.is_domain_connection).toBe(false);
    const dm = await s.slack.waitFor(() => s.slack.messages(REQUESTER).at(-1));
    expect(dm.text).toMatch(/dry run/i);
    await s.slack.waitFor(
      () =>
        JSON.stringify(s.slack.messages(APPROVAL_CHANNEL).at(-1)?.blocks).includes(
          "nothing was changed",
        ) || undefined,
      { what: "the approval message saying nothing was changed" },
    );
  });
});

describe("approved changes go first", () => {
  it("one person firing 120 status lookups at a 2 requests/s tenant: the approved PATCH still lands within 5 s, and lookups that must wait are told", async () => {
    stack = await startStack({
      auth0: { rateLimit: { perSecond: 2, burst: 2 } },
      env: { AUTH0_MAX_REQUESTS_PER_SECOND: "2", USER_RATE_LIMIT: "1000/1m" },
    });
    const s = stack;
    const requestId = await ask(s, ACME.id);
    const lookups = await Promise.all(
      Array.from({ length: 120 }, () => s.command(BYSTANDER, `status ${ACME.name}`)),
    );
    const clickedAt = Date.now();
    await s.click(APPROVER, "approve_request", requestId);
    const patch = await s.slack.waitFor(() => s.auth0.apiRequests("PATCH")[0], {
      what: "the PATCH",
      timeoutMs: 10_000,
    });
    expect(patch.at - clickedAt).toBeLessThan(5_000);
    await waitForAudit(s, "promoted", requestId, 15_000);

    // Every lookup is answered: its connection's state, or when to try again; none hangs.
    const answers = await s.slack.waitFor(
      () => {
        const all = lookups.map((l) => s.replies(l.responseUrl).at(-1) ?? "");
        return all.every((a) => /domain-level|try again in \d+ s/.test(a)) ? all : undefined;
      },
      { what: "an answer to every lookup", timeoutMs: 20_000 },
    );
    expect(answers.filter((a) => /Auth0 is busy/.test(a)).length).toBeGreaterThan(0);
    expect(s.auth0.apiRequests().filter((r) => r.status === 429)).toHaveLength(0);
  });
});

describe("patience through an Auth0 outage", () => {
  // Short waits between tries, so that a test sits through many of them; the window is real.
  const retryBackoff = { delay: 50, maxDelay: 200 };

  it("an outage longer than six attempts: the change lands once Auth0 is back, and people were told once that it is retried", async () => {
    stack = await startStack({ retryBackoff });
    const s = stack;
    const requestId = await ask(s, ACME.id);
    // Twelve failed reads in a row, where six attempts used to fail the request for good.
    s.auth0.injectFault({
      method: "GET",
      path: `/api/v2/connections/${ACME.id}`,
      kind: "status",
      status: 503,
      times: 12,
    });
    await s.click(APPROVER, "approve_request", requestId);
    await waitForAudit(s, "promoted", requestId, 20_000);
    expect(
      s.auth0.apiRequests("GET", `/api/v2/connections/${ACME.id}`).filter((r) => r.status === 503),
    ).toHaveLength(12);
    expect(s.auth0.apiRequests("PATCH")).toHaveLength(1);
    const dms = await s.slack.waitFor(
      () => (s.slack.messages(REQUESTER).length >= 2 ? s.slack.messages(REQUESTER) : undefined),
      { what: "the requester's two messages" },
    );
    expect(dms.map((m) => m.text ?? "")).toEqual([
      expect.stringMatching(/Auth0 is unavailable; retrying until/),
      expect.stringMatching(/Promoted to domain level/),
    ]);
  });

  it("Auth0 down for the whole AUTH0_RETRY_WINDOW: the change fails, saying what to do", async () => {
    stack = await startStack({ retryBackoff, env: { AUTH0_RETRY_WINDOW: "2s" } });
    const s = stack;
    const requestId = await ask(s, ACME.id);
    s.auth0.injectFault({
      method: "GET",
      path: `/api/v2/connections/${ACME.id}`,
      kind: "status",
      status: 503,
      times: 10_000,
    });
    await s.click(APPROVER, "approve_request", requestId);
    const line = await waitForAudit(s, "failed", requestId, 15_000);
    expect(line).toContain("unavailable for the whole retry window");
    expect(line).toContain("status.auth0.com");
    expect(s.auth0.apiRequests("PATCH")).toHaveLength(0);
  });
});
