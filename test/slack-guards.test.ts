import { afterEach, describe, expect, it } from "vitest";
import {
  ACME,
  APPROVAL_CHANNEL,
  APPROVER,
  APPROVER_2,
  ask,
  BYSTANDER,
  expectNothingRequested,
  REQUESTER,
  type Stack,
  type StackOptions,
  startStack,
  TEAM_ID,
  waitForAudit,
} from "./support/stack.js";

/*
 * The guards in front of every command and click: who may read, what a refusal costs, how often
 * one person may act, and which workspace's people the bot serves. Each test drives the whole
 * bot through Bolt's real receiver, Redis and BullMQ, and checks that a refusal changed nothing.
 */

let stack: Stack;

afterEach(async () => {
  await stack?.stop();
});

async function boot(options: StackOptions = {}): Promise<Stack> {
  stack = await startStack(options);
  return stack;
}

/** Everything one command got back: its ack and every reply to its response URL. */
function answers(s: Stack, sent: { ack: string; responseUrl: string }): string {
  return [sent.ack, ...s.replies(sent.responseUrl)].join("\n");
}

/**
 * An allowed person's command that runs to its reply. Handlers run in arrival order, so once it
 * is answered, any work a refused command had wrongly started would have reached Auth0 too.
 */
async function barrier(s: Stack, user = APPROVER_2): Promise<void> {
  const sent = await s.command(user, `status ${ACME.id}`);
  await s.waitForReply(sent.responseUrl, /domain-level/);
}

const OTHER_REQUESTER = "UREQUESTR2";
const FOREIGN_TEAM = "T0FOREIGN1";
const SECRET_REASON = "the Initech merger is not public yet";

describe("who may read", () => {
  it("with a requester list, status, list, history and App Home serve requesters and approvers only", async () => {
    await boot({ env: { REQUESTER_USER_IDS: `${REQUESTER},${OTHER_REQUESTER}` } });
    const requestId = await ask(stack, `${ACME.id} "${SECRET_REASON}"`);
    await waitForAudit(stack, "requested", requestId);
    const auth0Calls = stack.auth0.requests.length;

    for (const text of [
      `status ${requestId}`,
      `status ${ACME.name}`,
      `status ${ACME.id}`,
      "list",
      "history",
      `history ${ACME.id}`,
    ]) {
      const sent = await stack.command(BYSTANDER, text);
      await stack.waitForReply(sent.responseUrl, /cannot see requests/);
      const seen = answers(stack, sent);
      expect(seen, text).not.toContain(requestId);
      expect(seen, text).not.toContain("Initech");
    }
    const home = JSON.stringify((await stack.openHome(BYSTANDER)).blocks);
    expect(home).toContain("cannot see requests");
    expect(home).not.toContain(requestId);
    expect(stack.auth0.requests.length).toBe(auth0Calls);

    // Requesters and approvers are still served.
    const mine = await stack.command(OTHER_REQUESTER, "list");
    expect(await stack.waitForReply(mine.responseUrl, /Open requests/)).toContain(requestId);
    const approver = await stack.command(APPROVER, `status ${requestId}`);
    expect(await stack.waitForReply(approver.responseUrl, /Waiting/)).toContain(SECRET_REASON);
    expect(JSON.stringify((await stack.openHome(APPROVER)).blocks)).toContain(requestId);
    expect(JSON.stringify((await stack.openHome(OTHER_REQUESTER)).blocks)).not.toContain(
      "cannot see requests",
    );
  });

  it("a reason is shown only to its requester and to approvers, in status and in history", async () => {
    await boot();
    const requestId = await ask(stack, `${ACME.id} "${SECRET_REASON}"`);
    await stack.deny(APPROVER, requestId, "Initech legal said no");
    await waitForAudit(stack, "denied", requestId);

    for (const text of [`status ${requestId}`, `history ${ACME.id}`]) {
      const bystander = await stack.command(BYSTANDER, text);
      const seen = await stack.waitForReply(bystander.responseUrl, new RegExp(requestId));
      expect(seen, text).toMatch(/Denied|denied/);
      expect(seen, text).not.toContain("Initech");

      for (const reader of [REQUESTER, APPROVER_2]) {
        const allowed = await stack.command(reader, text);
        const full = await stack.waitForReply(allowed.responseUrl, new RegExp(requestId));
        expect(full, `${reader}: ${text}`).toContain(SECRET_REASON);
        expect(full, `${reader}: ${text}`).toContain("Initech legal said no");
      }
    }
  });
});

describe("refused requests cost nothing", () => {
  it("duplicate (by id or by name), over-limit, not-allowed and malformed requests make no Auth0 call", async () => {
    await boot({
      env: {
        REQUESTER_USER_IDS: `${REQUESTER},${OTHER_REQUESTER}`,
        MAX_OPEN_REQUESTS_PER_USER: "1",
      },
    });
    stack.auth0.addConnection({
      id: "con_Other0000000001",
      name: "other-db",
      strategy: "auth0",
      is_domain_connection: false,
    });
    const requestId = await ask(stack, ACME.id);
    const auth0Calls = stack.auth0.requests.length;

    const byId = await stack.command(OTHER_REQUESTER, `${ACME.id} me too`);
    expect(await stack.waitForReply(byId.responseUrl, /already an open request/)).toContain(
      requestId,
    );
    const byName = await stack.command(OTHER_REQUESTER, `promote ${ACME.name}`);
    expect(await stack.waitForReply(byName.responseUrl, /already an open request/)).toContain(
      requestId,
    );
    const overLimit = await stack.command(REQUESTER, "other-db");
    await stack.waitForReply(overLimit.responseUrl, /already have 1 open request/);
    const notAllowed = await stack.command(BYSTANDER, "other-db");
    await stack.waitForReply(notAllowed.responseUrl, /cannot ask/);
    const malformed = await stack.command(OTHER_REQUESTER, "con_../../clients x");
    expect(malformed.ack).toMatch(/not a valid connection id/);

    expect(stack.auth0.requests.length).toBe(auth0Calls);
    expect((await stack.storedRequests()).map((r) => r.id)).toEqual([requestId]);
    expect(stack.slack.messages(APPROVAL_CHANNEL)).toHaveLength(1);

    // Once the request is settled, the same connection can be asked for again (by name).
    await stack.command(REQUESTER, `cancel ${requestId}`);
    await waitForAudit(stack, "cancelled", requestId);
    const again = await ask(stack, `promote ${ACME.name}`, OTHER_REQUESTER);
    expect(again).not.toBe(requestId);
  });
});

describe("per-person rate limit", () => {
  it("commands and clicks over USER_RATE_LIMIT are refused in words, shared through Redis, and change nothing", async () => {
    await boot({ env: { USER_RATE_LIMIT: "3/1m" } });
    const requestId = await ask(stack, ACME.id);
    for (const text of ["help", "list"]) await stack.command(REQUESTER, text);
    const auth0Calls = stack.auth0.apiRequests().length;

    const over = await stack.command(REQUESTER, `promote ${ACME.name}`);
    expect(over.ack).toMatch(/Too many commands and clicks/);
    expect(over.ack).toMatch(/at most 3 a minute/);
    expect(over.ack).toMatch(/try again in \d+ s/i);

    // The count lives in Redis: a restarted bot (or another replica) still refuses.
    await stack.restart();
    const afterRestart = await stack.command(REQUESTER, "help");
    expect(afterRestart.ack).toMatch(/Too many commands and clicks/);

    // Clicks count too: an approver who has used up the limit cannot approve.
    for (const text of ["help", "help", "help"]) await stack.command(APPROVER, text);
    const click = await stack.click(APPROVER, "approve_request", requestId);
    await stack.waitForReply(click.responseUrl, /Too many commands and clicks/);
    const homeClick = await stack.click(APPROVER, "approve_request", requestId, {
      surface: "home",
    });
    expect(homeClick.status).toBe(200);

    // Others are not held back by them.
    await barrier(stack);
    // One direct message for the first refused App Home click of a window, not one per click.
    expect(stack.slack.messages(APPROVER).filter((m) => /Too many/.test(m.text ?? ""))).toEqual([]);
    // The barrier's own lookup is the only Management API call since.
    expect(stack.auth0.apiRequests()).toHaveLength(auth0Calls + 1);
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(0);
    expect(await stack.storedRequests()).toMatchObject([
      { id: requestId, state: "PENDING", approvals: [] },
    ]);
    expect(stack.replies(over.responseUrl)).toEqual([]);
  });

  it("the count starts again once the window has passed", async () => {
    await boot({ env: { USER_RATE_LIMIT: "1/1s" } });
    expect((await stack.command(BYSTANDER, "help")).ack).toContain("/promote-connection");
    expect((await stack.command(BYSTANDER, "help")).ack).toMatch(/Too many/);
    const allowed = await stack.slack.waitFor(
      async () => {
        const sent = await stack.command(BYSTANDER, "help");
        return /Too many/.test(sent.ack) ? undefined : sent.ack;
      },
      { what: "the window to pass", timeoutMs: 10_000 },
    );
    expect(allowed).toContain("/promote-connection");
  });
});

describe("workspace boundary", () => {
  it("a Slack Connect approver from another workspace is refused, even in a shared channel of ours", async () => {
    await boot({ env: { ALLOWED_TEAM_IDS: TEAM_ID } });
    const requestId = await ask(stack, ACME.id);
    const approve = await stack.click(APPROVER, "approve_request", requestId, {
      team: TEAM_ID,
      userTeam: FOREIGN_TEAM,
    });
    await stack.waitForReply(approve.responseUrl, /another workspace/);
    const deny = await stack.submitDenyReason(APPROVER_2, requestId, "from outside", {
      userTeam: FOREIGN_TEAM,
    });
    expect(deny.status).toBe(200);
    expect(JSON.stringify(JSON.parse(deny.body || "{}"))).toMatch(/another workspace/);

    await barrier(stack, REQUESTER);
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(0);
    expect(await stack.storedRequests()).toMatchObject([
      { id: requestId, state: "PENDING", approvals: [] },
    ]);
    expect(stack.slack.callsTo("views.open")).toHaveLength(0);
    expect(stack.auditTexts().filter((t) => t.includes(requestId))).toHaveLength(1);
  });

  it("a payload that does not say which workspace its person belongs to is refused", async () => {
    await boot({ env: { ALLOWED_TEAM_IDS: TEAM_ID } });
    const command = await stack.command(REQUESTER, ACME.id, { team: null });
    expect(command.ack).toMatch(/which workspace/);
    await barrier(stack);
    await expectNothingRequested(stack);

    const requestId = await ask(stack, ACME.id);
    const click = await stack.click(APPROVER, "approve_request", requestId, { userTeam: null });
    await stack.waitForReply(click.responseUrl, /which workspace/);
    await barrier(stack);
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(0);
    expect(await stack.storedRequests()).toMatchObject([
      { id: requestId, state: "PENDING", approvals: [] },
    ]);
  });

  it("an enterprise (E…) in ALLOWED_TEAM_IDS admits its workspaces' people, and only them", async () => {
    await boot({ env: { ALLOWED_TEAM_IDS: "E0ENTERPR1" } });
    const orgMember = { team: "T0ORGWS002", enterprise: "E0ENTERPR1" };
    const asked = await stack.command(REQUESTER, ACME.id, orgMember);
    await stack.waitForReply(asked.responseUrl, /Request `req_/);
    const requestId = await stack.latestRequestId();
    const outsider = await stack.command(REQUESTER, "help", { team: TEAM_ID });
    expect(outsider.ack).toMatch(/another workspace/);
    // In an Enterprise organization an interaction's user.team_id is the organization's id.
    await stack.click(APPROVER, "approve_request", requestId, { userTeam: "E0ENTERPR1" });
    await waitForAudit(stack, "promoted", requestId);
  });
});
