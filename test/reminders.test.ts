import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import type { SlackMessage } from "../src/dev/emulators/slack/index.js";
import type { ExpiryJobData } from "../src/jobs/expiry.js";
import { Outbox, type OutboxMessage } from "../src/jobs/outbox.js";
import {
  CHANGE_QUEUE,
  type ChangeJobData,
  EXPIRY_QUEUE,
  OUTBOX_QUEUE,
  REMINDER_QUEUE,
} from "../src/jobs/queues.js";
import { reconcilePending } from "../src/jobs/reconcile.js";
import { type ReminderJobData, scheduleReminder } from "../src/jobs/reminder.js";
import { createLogger } from "../src/log.js";
import { RequestStore } from "../src/requests/store.js";
import { type Running, start } from "../src/runtime/index.js";
import { connectionRequest } from "./support/requests.js";
import {
  ACME,
  APPROVAL_CHANNEL,
  APPROVER,
  APPROVER_2,
  APPROVER_GROUP,
  approvalMessages,
  ask,
  REQUESTER,
  type Stack,
  startStack,
  waitForAudit,
} from "./support/stack.js";

/**
 * A pending request reminds its approvers once, in the approval message's thread, when part of
 * its time has passed (REMIND_AFTER, by default half of REQUEST_TTL; 0 turns it off). It names
 * who could still approve it, never @channel or @here.
 */

let stack: Stack | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await stack?.stop();
  stack = undefined;
});

/** The replies in the approval messages' threads: the reminders. */
function reminders(s: Stack): SlackMessage[] {
  return s.slack.messages(APPROVAL_CHANNEL).filter((m) => m.thread_ts);
}

function waitForReminder(s: Stack): Promise<SlackMessage> {
  return s.slack.waitFor(() => reminders(s)[0], { what: "a reminder", timeoutMs: 15_000 });
}

/** The approval message shows how the request ended: every outbox job before it has run. */
async function waitForApproval(s: Stack, words: string): Promise<void> {
  await s.slack.waitFor(
    () => JSON.stringify(approvalMessages(s.slack).at(-1)?.blocks).includes(words) || undefined,
    { what: `the approval message to say "${words}"`, timeoutMs: 15_000 },
  );
}

/** The stack's own queues, as a second process would see them. */
function queuesOf(s: Stack) {
  const redis = new Redis(s.env.REDIS_URL as string);
  const prefix = s.env.REDIS_PREFIX as string;
  const queue = <T>(name: string) => new Queue<T>(name, { connection: redis, prefix });
  const queues = {
    change: queue<ChangeJobData>(CHANGE_QUEUE),
    expiry: queue<ExpiryJobData>(EXPIRY_QUEUE),
    reminder: queue<ReminderJobData>(REMINDER_QUEUE),
    outbox: queue<OutboxMessage>(OUTBOX_QUEUE),
  };
  cleanups.push(async () => {
    await Promise.all(Object.values(queues).map((q) => q.close()));
    redis.disconnect();
  });
  return { ...queues, store: new RequestStore(redis, prefix), redis };
}

const MENTIONS = /<!channel>|<!here>|<!everyone>|@channel|@here|@everyone/;

describe("reminders", () => {
  it("a pending request reminds its approvers once, in the approval message's thread, halfway through its time", async () => {
    stack = await startStack({ env: { REQUEST_TTL: "3s" } });
    const s = stack;
    const requestId = await ask(s, `${ACME.id} onboarding`);
    const approval = approvalMessages(s.slack).at(-1);

    const reminder = await waitForReminder(s);
    expect(reminder.channel).toBe(APPROVAL_CHANNEL);
    expect(reminder.thread_ts).toBe(approval?.ts);
    const text = reminder.text ?? "";
    for (const who of [`<@${APPROVER}>`, `<@${APPROVER_2}>`, `<!subteam^${APPROVER_GROUP}>`]) {
      expect(text).toContain(who);
    }
    expect(text).not.toContain(`<@${REQUESTER}>`);
    expect(text).toContain(requestId);
    expect(text).toContain(ACME.name);
    expect(text).toContain("still needs 1 more approval");
    expect(text).toMatch(/It expires <!date\^\d+\^.*>, in about \d+ seconds?\./);
    expect(text).not.toMatch(MENTIONS);
    const [stored] = await s.storedRequests();
    // Not before half of its 3 s had passed.
    expect((stored?.remindedAt ?? 0) - (stored?.createdAt ?? 0)).toBeGreaterThanOrEqual(1_500);

    await waitForAudit(s, "expired", requestId);
    await waitForApproval(s, "Expired");
    expect(reminders(s)).toHaveLength(1);
  });

  it("names only who could still approve: not the requester, not who has approved; a group by its mention; never @channel or @here", async () => {
    stack = await startStack({ env: { REQUEST_TTL: "4s", REQUIRED_APPROVALS: "2" } });
    const s = stack;
    // An approver asks, and the reason tries to ping everyone.
    const requestId = await ask(s, `${ACME.id} "please <!channel> @here look"`, APPROVER);
    const click = await s.click(APPROVER_2, "approve_request", requestId);
    await s.waitForReply(click.responseUrl, /1 of 2/);

    const text = (await waitForReminder(s)).text ?? "";
    expect(text).toContain(`Reminder for <!subteam^${APPROVER_GROUP}>:`);
    expect(text).not.toContain(`<@${APPROVER}>`);
    expect(text).not.toContain(`<@${APPROVER_2}>`);
    expect(text).toContain("still needs 1 more approval");
    expect(text).not.toMatch(MENTIONS);
  });

  it("a request decided before its reminder is due is not reminded", async () => {
    stack = await startStack({ env: { REQUEST_TTL: "1m", REMIND_AFTER: "2s" } });
    const s = stack;
    const { reminder } = queuesOf(s);
    const requestId = await ask(s, ACME.id);
    await s.deny(APPROVER, requestId, "not this quarter");
    await waitForAudit(s, "denied", requestId);

    // The reminder's job runs when due, finds the request denied, and queues nothing.
    const outcome = await s.slack.waitFor(
      async () => {
        const job = await reminder.getJob(requestId);
        return job?.finishedOn ? String(job.returnvalue) : undefined;
      },
      { what: "the reminder job to run", timeoutMs: 15_000 },
    );
    expect(outcome).toBe("DENIED");
    expect(reminders(s)).toEqual([]);
  });

  it("REMIND_AFTER=0: no reminder is scheduled or posted", async () => {
    stack = await startStack({ env: { REQUEST_TTL: "2s", REMIND_AFTER: "0" } });
    const s = stack;
    const { reminder } = queuesOf(s);
    const requestId = await ask(s, ACME.id);
    expect(await reminder.getJob(requestId)).toBeUndefined();
    await waitForAudit(s, "expired", requestId);
    await waitForApproval(s, "Expired");
    expect(reminders(s)).toEqual([]);
    expect((await s.storedRequests())[0]?.remindAt).toBeUndefined();
  });

  it("two worker processes, and the reminder asked for again and again: posted exactly once", async () => {
    stack = await startStack({ env: { REQUEST_TTL: "3s" } });
    const s = stack;
    const second: Running = await start(loadConfig(s.env), {
      role: "worker",
      logger: createLogger({ level: "silent" }),
      host: "127.0.0.1",
    });
    cleanups.push(() => second.stop());
    const { reminder, outbox, store } = queuesOf(s);
    const requestId = await ask(s, ACME.id);
    // Scheduled again (a reconciler, a retried command) and queued again (a retried job).
    await Promise.all([
      ...Array.from({ length: 5 }, () => scheduleReminder(reminder, requestId, Date.now())),
      ...Array.from({ length: 5 }, () => new Outbox(outbox).remind({ id: requestId })),
    ]);

    await waitForReminder(s);
    await waitForAudit(s, "expired", requestId);
    await waitForApproval(s, "Expired");
    expect(reminders(s)).toHaveLength(1);
    expect(await store.claimReminder(requestId)).toEqual({ claimed: false, why: "EXPIRED" });
  });

  it("the claim that guards the post: twenty at once, one wins; none once it is decided or overdue", async () => {
    stack = await startStack({ role: "bot" });
    const { store } = queuesOf(stack);
    const created = await store.create(connectionRequest(ACME), {
      ttlMs: 60_000,
      maxOpenPerUser: 5,
      remindAfterMs: 30_000,
    });
    if (!created.ok) throw new Error("not created");
    const id = created.request.id;
    const claims = await Promise.all(Array.from({ length: 20 }, () => store.claimReminder(id)));
    expect(claims.filter((c) => c.claimed)).toHaveLength(1);
    expect(claims.filter((c) => !c.claimed && c.why === "reminded")).toHaveLength(19);

    // Given back (Slack refused the post), it can be claimed again, once.
    const won = claims.find((c) => c.claimed);
    if (!won?.claimed) throw new Error("nobody won");
    await store.releaseReminder(id, won.at);
    expect((await store.claimReminder(id)).claimed).toBe(true);

    const overdue = new RequestStore(queuesOf(stack).redis, stack.env.REDIS_PREFIX as string, {
      now: () => Date.now() + 120_000,
    });
    const other = await store.create(connectionRequest({ ...ACME, id: "con_Other00000000001" }), {
      ttlMs: 60_000,
      maxOpenPerUser: 5,
    });
    if (!other.ok) throw new Error("not created");
    expect(await overdue.claimReminder(other.request.id)).toEqual({
      claimed: false,
      why: "expired",
    });
    await store.transition(other.request.id, "PENDING", "CANCELLED");
    expect(await store.claimReminder(other.request.id)).toEqual({
      claimed: false,
      why: "CANCELLED",
    });
  });

  it("a reminder job lost before it ran is scheduled again by the reconciler, and posted once", async () => {
    stack = await startStack({ env: { REQUEST_TTL: "1m", REMIND_AFTER: "30s" } });
    const s = stack;
    const queues = queuesOf(s);
    const requestId = await ask(s, ACME.id);
    // The job is lost (the bot died before adding it, or Redis lost it).
    expect(await queues.reminder.remove(requestId)).toBe(1);

    // The reconciler, 35 s later: the reminder is due and has no job.
    const later = () => Date.now() + 35_000;
    const deps = {
      store: queues.store,
      queue: queues.change,
      expiryQueue: queues.expiry,
      reminderQueue: queues.reminder,
      outbox: new Outbox(queues.outbox),
      logger: createLogger({ level: "silent" }),
      now: later,
    };
    await reconcilePending(deps);
    const reminder = await waitForReminder(s);
    expect(reminder.text).toContain(requestId);

    // Reminded, it is never scheduled again, and a second post would be refused anyway.
    await reconcilePending(deps);
    await s.click(APPROVER, "approve_request", requestId);
    await waitForAudit(s, "promoted", requestId);
    await waitForApproval(s, "Promoted to domain level");
    expect(reminders(s)).toHaveLength(1);
  });
});

describe("REMIND_AFTER and remindAfter", () => {
  const GOOD = {
    SLACK_BOT_TOKEN: "xoxb-1-2-abc",
    SLACK_SIGNING_SECRET: "secret",
    APPROVAL_CHANNEL_ID: "C0APPROVE1",
    AUDIT_CHANNEL_ID: "C0AUDIT001",
    APPROVER_USER_IDS: "U0APPROVE1, U0APPROVE2",
    AUTH0_DOMAIN: "acme.us.auth0.com",
    AUTH0_CLIENT_ID: "client",
    AUTH0_CLIENT_SECRET: "client-secret",
  };
  const dir = mkdtempSync(join(tmpdir(), "promote-connection-remind-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const problems = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };
  const remindAfter = (env: Record<string, string>) =>
    loadConfig(env).tenants.map((t) => [t.name, t.remindAfterMs]);

  it("defaults to half of REQUEST_TTL; takes a duration; 0 or off turns it off", () => {
    expect(remindAfter(GOOD)).toEqual([["default", 12 * 3600_000]]);
    expect(remindAfter({ ...GOOD, REQUEST_TTL: "3s" })).toEqual([["default", 1_500]]);
    expect(remindAfter({ ...GOOD, REMIND_AFTER: "20h" })).toEqual([["default", 20 * 3600_000]]);
    expect(remindAfter({ ...GOOD, REMIND_AFTER: "0" })).toEqual([["default", 0]]);
    expect(remindAfter({ ...GOOD, REMIND_AFTER: "off" })).toEqual([["default", 0]]);
  });

  it("a malformed value, or one no request would live to see, is refused in words", () => {
    expect(problems({ ...GOOD, REMIND_AFTER: "soon" })).toEqual([
      'REMIND_AFTER must be a duration such as 12h, 30m or 45s, or 0 to turn it off, not "soon"',
    ]);
    expect(problems({ ...GOOD, REMIND_AFTER: "30h" })).toEqual([
      "REMIND_AFTER (1d6h) is not shorter than REQUEST_TTL (1d), so no reminder could be sent: shorten it, or 0 to turn reminders off",
    ]);
  });

  function tenantsFile(lines: string[]): string {
    const path = join(dir, `tenants-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, ["tenants:", ...lines, ""].join("\n"));
    return path;
  }
  const tenant = (name: string, more: string[] = []) => [
    `  - name: ${name}`,
    `    domain: ${name}.us.auth0.com`,
    "    clientId: abc",
    "    clientSecret: shh",
    ...more.map((l) => `    ${l}`),
  ];

  it("each tenant of TENANTS_FILE may set its own; one left out takes REMIND_AFTER, else half its requestTtl", () => {
    const file = tenantsFile([
      ...tenant("dev"),
      ...tenant("staging", ["requestTtl: 4h"]),
      ...tenant("prod", ["requestTtl: 4h", "remindAfter: 30m"]),
      ...tenant("sandbox", ["remindAfter: 0"]),
    ]);
    expect(remindAfter({ ...GOOD, TENANTS_FILE: file })).toEqual([
      ["dev", 12 * 3600_000],
      ["staging", 2 * 3600_000],
      ["prod", 30 * 60_000],
      ["sandbox", 0],
    ]);
    const withGlobal = { ...GOOD, TENANTS_FILE: file, REMIND_AFTER: "1h" };
    expect(remindAfter(withGlobal)).toEqual([
      ["dev", 3600_000],
      ["staging", 3600_000],
      ["prod", 30 * 60_000],
      ["sandbox", 0],
    ]);
  });

  it("a tenant's problem names the tenant and what to change", () => {
    const file = tenantsFile([
      ...tenant("staging", ["requestTtl: 4h"]),
      ...tenant("prod", ["remindAfter: later"]),
      ...tenant("qa", ["requestTtl: 1h", "remindAfter: 2h"]),
    ]);
    expect(problems({ ...GOOD, TENANTS_FILE: file, REMIND_AFTER: "6h" })).toEqual([
      "tenant staging: REMIND_AFTER (6h) is not shorter than its requestTtl (4h), so no reminder could be sent: set remindAfter for it, or 0 to turn reminders off",
      "tenant prod: remindAfter must be a duration such as 12h, 30m or 45s, or 0 to turn reminders off",
      "tenant qa: remindAfter (2h) is not shorter than requestTtl (1h), so no reminder could be sent: shorten it, or 0 to turn reminders off",
    ]);
  });
});
