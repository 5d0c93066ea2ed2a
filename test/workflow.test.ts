import { afterEach, describe, expect, it } from "vitest";
import {
  ACME,
  ALREADY_DOMAIN,
  APPROVAL_CHANNEL,
  APPROVER,
  APPROVER_2,
  AUDIT_CHANNEL,
  approvalMessages,
  ask,
  BYSTANDER,
  expectNothingRequested,
  REQUESTER,
  type Stack,
  type StackOptions,
  startStack,
  waitForAudit,
} from "./support/stack.js";

let stack: Stack;

afterEach(async () => {
  await stack?.stop();
});

async function boot(options: StackOptions = {}): Promise<Stack> {
  stack = await startStack(options);
  return stack;
}

function auditOf(s: Stack, requestId: string): string[] {
  return s.auditTexts().filter((t) => t.split(" ")[1] === requestId);
}

function latestApproval(s: Stack): string {
  return JSON.stringify(approvalMessages(s.slack).at(-1)?.blocks ?? []);
}

describe("policy", () => {
  it("a quorum of 2: the same approver clicking twice still waits; a second approver completes it", async () => {
    await boot({ env: { REQUIRED_APPROVALS: "2" } });
    const requestId = await ask(stack, `${ACME.id} quorum`);
    const first = await stack.click(APPROVER, "approve_request", requestId);
    await stack.waitForReply(first.responseUrl, /recorded.*1 of 2/s);
    const again = await stack.click(APPROVER, "approve_request", requestId);
    await stack.waitForReply(again.responseUrl, /already approved.*1 of 2/s);
    await stack.slack.waitFor(() => latestApproval(stack).includes("1 more needed") || undefined, {
      what: "the message to show 1 of 2",
    });
    expect(latestApproval(stack)).toContain("approve_request");
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(0);

    await stack.click(APPROVER_2, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId);
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(1);
    expect(auditOf(stack, requestId).map((t) => t.split(" ")[0])).toEqual([
      "requested",
      "approval",
      "approved",
      "promoted",
    ]);
  });

  it("an unanswered request expires: buttons removed, requester told, audited, late clicks answered", async () => {
    await boot({ env: { REQUEST_TTL: "1s" } });
    const requestId = await ask(stack, ACME.id);
    await waitForAudit(stack, "expired", requestId);
    const dm = await stack.slack.waitFor(() => stack.slack.messages(REQUESTER).at(-1));
    expect(dm.text).toContain("Expired");
    await stack.slack.waitFor(() => latestApproval(stack).includes("Expired") || undefined);
    expect(latestApproval(stack)).not.toContain("approve_request");
    const late = await stack.click(APPROVER, "approve_request", requestId);
    await stack.waitForReply(late.responseUrl, /already expired/);
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(0);
  });

  it("the requester can withdraw a pending request; nobody else can", async () => {
    await boot();
    const requestId = await ask(stack, ACME.id);
    const other = await stack.command(BYSTANDER, `cancel ${requestId}`);
    await stack.waitForReply(other.responseUrl, /Only <@UREQUESTER>/);
    const mine = await stack.command(REQUESTER, `cancel ${requestId}`);
    await stack.waitForReply(mine.responseUrl, /withdrawn/);
    await waitForAudit(stack, "cancelled", requestId);
    await stack.slack.waitFor(() => latestApproval(stack).includes("Withdrawn") || undefined);
    const late = await stack.click(APPROVER, "approve_request", requestId);
    await stack.waitForReply(late.responseUrl, /already cancelled/);
    // Withdrawn, the connection is free for a new request.
    await ask(stack, ACME.id);
  });

  it("demote goes through the same approval and sends is_domain_connection false", async () => {
    await boot();
    const requestId = await ask(stack, `demote ${ALREADY_DOMAIN.name} "no longer shared"`);
    expect(latestApproval(stack)).toContain("Demote a connection");
    await stack.click(APPROVER, "approve_request", requestId);
    const line = await waitForAudit(stack, "demoted", requestId);
    expect(line).toContain(`demote ${ALREADY_DOMAIN.name}`);
    expect(stack.auth0.apiRequests("PATCH")[0]?.body).toEqual({
      is_domain_connection: false,
      display_name: "Google",
    });
    const dm = await stack.slack.waitFor(() => stack.slack.messages(REQUESTER).at(-1));
    expect(dm.text).toMatch(/demote .*Demoted/s);
    // Demoting what is not domain-level needs no approval.
    const nothing = await stack.command(REQUESTER, `demote ${ACME.id}`);
    await stack.waitForReply(nothing.responseUrl, /not a domain-level connection/);
  });

  it("a second identical request points to the open one instead of creating another", async () => {
    await boot();
    const requestId = await ask(stack, ACME.id);
    const second = await stack.command(BYSTANDER, `${ACME.name} me too`);
    const reply = await stack.waitForReply(second.responseUrl, /already an open request/);
    expect(reply).toContain(requestId);
    expect(stack.slack.messages(APPROVAL_CHANNEL)).toHaveLength(1);
    expect((await stack.storedRequests()).map((r) => r.id)).toEqual([requestId]);
  });

  it("a requester may hold at most MAX_OPEN_REQUESTS_PER_USER open requests", async () => {
    await boot({ env: { MAX_OPEN_REQUESTS_PER_USER: "2" } });
    for (const n of [1, 2, 3]) {
      stack.auth0.addConnection({
        id: `con_Limit00000000000${n}`,
        name: `limit-${n}`,
        strategy: "auth0",
        is_domain_connection: false,
      });
    }
    await ask(stack, "limit-1");
    await ask(stack, "limit-2");
    const third = await stack.command(REQUESTER, "limit-3");
    await stack.waitForReply(third.responseUrl, /already have 2 open requests/);
    expect(stack.slack.messages(APPROVAL_CHANNEL)).toHaveLength(2);
    expect((await stack.storedRequests()).map((r) => r.target.name)).toEqual([
      "limit-1",
      "limit-2",
    ]);
  });

  it("only REQUESTER_USER_IDS may ask when it is set", async () => {
    await boot({ env: { REQUESTER_USER_IDS: REQUESTER } });
    const refused = await stack.command(BYSTANDER, ACME.id);
    await stack.waitForReply(refused.responseUrl, /cannot ask/);
    await expectNothingRequested(stack);
    await ask(stack, ACME.id);
  });

  it("commands and clicks from another workspace are refused and change nothing", async () => {
    await boot({ env: { ALLOWED_TEAM_IDS: "T0TEST001" } });
    const requestId = await ask(stack, ACME.id);
    const foreignCommand = await stack.command(REQUESTER, ALREADY_DOMAIN.id, {
      team: "T0FOREIGN1",
    });
    expect(foreignCommand.ack).toMatch(/another workspace/);
    const foreignClick = await stack.click(APPROVER, "approve_request", requestId, {
      team: "T0FOREIGN1",
    });
    await stack.waitForReply(foreignClick.responseUrl, /another workspace/);
    expect(latestApproval(stack)).toContain("approve_request");
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(0);
    expect(await stack.storedRequests()).toMatchObject([
      { id: requestId, state: "PENDING", approvals: [] },
    ]);
  });

  it("a dry run reads and checks everything, makes no PATCH, and every message says so", async () => {
    await boot({ env: { DRY_RUN: "true" } });
    const { responseUrl } = await stack.command(REQUESTER, ACME.id);
    expect(await stack.waitForReply(responseUrl, /Request `req_/)).toMatch(/dry run/i);
    const requestId = await stack.latestRequestId();
    expect(latestApproval(stack)).toContain("Dry run");
    await stack.click(APPROVER, "approve_request", requestId);
    const line = await waitForAudit(stack, "dry-run", requestId);
    expect(line).toContain("would send PATCH");
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(0);
    expect(stack.auth0.apiRequests("GET", `/api/v2/connections/${ACME.id}`).length).toBeGreaterThan(
      1,
    );
    expect(stack.auth0.connection(ACME.id)?.is_domain_connection).toBe(false);
    for (const text of auditOf(stack, requestId)) expect(text).toContain("[dry run]");
    const dm = await stack.slack.waitFor(() => stack.slack.messages(REQUESTER).at(-1));
    expect(dm.text).toMatch(/dry run/i);
    await stack.slack.waitFor(
      () => latestApproval(stack).includes("nothing was changed") || undefined,
    );
  });
});

describe("the audit trail", () => {
  it("Slack answering 429 and 500 to audit posts delays the lines, loses none, keeps their order", async () => {
    await boot();
    const requestId = await ask(stack, `${ACME.id} outage`);
    await waitForAudit(stack, "requested", requestId);
    stack.slack.failNext("chat.postMessage", { times: 2, ratelimited: { retryAfterSec: 1 } });
    stack.slack.failNext("chat.postMessage", { times: 2, status: 500 });
    const refused = await stack.click(BYSTANDER, "approve_request", requestId);
    await stack.waitForReply(refused.responseUrl, /cannot approve/);
    await stack.click(APPROVER, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId, 25_000);
    expect(auditOf(stack, requestId).map((t) => t.split(" ")[0])).toEqual([
      "requested",
      "refused",
      "approved",
      "promoted",
    ]);
    const failed = stack.slack.calls.filter((c) => c.method === "chat.postMessage" && c.injected);
    expect(failed).toHaveLength(4);
  }, 40_000);

  it("the approval message links to the request's audit thread; later lines are threaded under it", async () => {
    await boot();
    const requestId = await ask(stack, ACME.id);
    await stack.slack.waitFor(() => latestApproval(stack).includes("audit trail") || undefined, {
      what: "the audit-trail link on the approval message",
    });
    await stack.click(APPROVER, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId);
    const lines = stack.slack.messages(AUDIT_CHANNEL).filter((m) => m.text?.includes(requestId));
    const root = lines[0];
    expect(root?.thread_ts).toBeUndefined();
    for (const line of lines.slice(1)) expect(line.thread_ts).toBe(root?.ts);
    const posts = stack.slack.callsTo("chat.postMessage").filter((c) => c.args.thread_ts);
    expect(posts.every((c) => String(c.args.reply_broadcast) === "true")).toBe(true);
  });
});

describe("subcommands", () => {
  it("status, list and history tell where things stand", async () => {
    await boot();
    const requestId = await ask(stack, `${ACME.id} "for status"`);

    const list = await stack.command(APPROVER, "list");
    expect(await stack.waitForReply(list.responseUrl, /Waiting for you/)).toContain(requestId);

    const status = await stack.command(BYSTANDER, `status ${requestId}`);
    expect(await stack.waitForReply(status.responseUrl, new RegExp(requestId))).toMatch(/Waiting/);

    const byConnection = await stack.command(BYSTANDER, `status ${ACME.name}`);
    const conn = await stack.waitForReply(byConnection.responseUrl, /domain-level/);
    expect(conn).toContain("*not* domain-level");
    expect(conn).toContain(requestId);

    await stack.click(APPROVER, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId);
    const done = await stack.command(BYSTANDER, `status ${requestId}`);
    expect(await stack.waitForReply(done.responseUrl, /Promoted/)).toContain(
      "is now a domain-level",
    );

    const history = await stack.command(BYSTANDER, `history ${ACME.id}`);
    const text = await stack.waitForReply(history.responseUrl, /Recent audit events/);
    const events = [...text.matchAll(/\*(\w[\w-]*)\* `req_/g)].map((m) => m[1]);
    expect(events).toEqual(["promoted", "approved", "requested"]);

    // An unknown word is taken for a connection name; when there is none, the answer says so.
    const unknown = await stack.command(BYSTANDER, "frobnicate everything");
    const answer = await stack.waitForReply(
      unknown.responseUrl,
      /No connection named `frobnicate`/,
    );
    expect(answer).toContain("/promote-connection help");
    const bad = await stack.command(BYSTANDER, "status <!channel>");
    expect(bad.ack).toMatch(/neither a connection id/);
    expect(bad.ack).not.toContain("<!channel>");
    const badCancel = await stack.command(BYSTANDER, "cancel 42");
    expect(badCancel.ack).toMatch(/needs one request id/);
    expect(badCancel.ack).toContain("/promote-connection status");
  });
});

describe("App Home", () => {
  it("shows an approver what waits for them, with buttons that work and are checked the same way", async () => {
    await boot();
    const requestId = await ask(stack, `${ACME.id} home`);
    const home = await stack.openHome(APPROVER);
    const blocks = JSON.stringify(home.blocks);
    expect(blocks).toContain("Waiting for you");
    expect(blocks).toContain(requestId);
    expect(blocks).toContain("approve_request");

    // The requester's own Home lists the request, without buttons to approve it.
    const own = JSON.stringify((await stack.openHome(REQUESTER)).blocks);
    expect(own).toContain(requestId);
    expect(own).not.toContain("approve_request");

    // A click from the Home tab has no response URL: a refusal arrives as a direct message.
    await stack.click(REQUESTER, "approve_request", requestId, { surface: "home" });
    await stack.slack.waitFor(() =>
      stack.slack.messages(REQUESTER).find((m) => m.text?.includes("cannot approve")),
    );
    await stack.click(APPROVER, "approve_request", requestId, { surface: "home" });
    await waitForAudit(stack, "promoted", requestId);
    expect(stack.auth0.apiRequests("PATCH")).toHaveLength(1);
  });
});
