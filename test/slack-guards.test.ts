import { afterEach, describe, expect, it } from "vitest";
import {
  ACME,
  APPROVER,
  APPROVER_2,
  ask,
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

/**
 * An allowed person's command that runs to its reply. Handlers run in arrival order, so once it
 * is answered, any work a refused command had wrongly started would have reached Auth0 too.
 */
async function barrier(s: Stack, user = APPROVER_2): Promise<void> {
  const sent = await s.command(user, `status ${ACME.id}`);
  await s.waitForReply(sent.responseUrl, /domain-level/);
}

const FOREIGN_TEAM = "T0FOREIGN1";

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
