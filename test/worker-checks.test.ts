import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { CHANGE_QUEUE } from "../src/jobs/queues.js";
import {
  ACME,
  APPROVAL_CHANNEL,
  APPROVER_GROUP,
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
