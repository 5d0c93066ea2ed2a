import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startRedisServer } from "./support/redis-server.js";
import { sendSlashCommand } from "./support/slack-requests.js";
import {
  ACME,
  ALREADY_DOMAIN,
  APPROVAL_CHANNEL,
  APPROVER,
  APPROVER_2,
  AUDIT_CHANNEL,
  ask,
  BYSTANDER,
  expectNothingRequested,
  GROUP_APPROVER,
  REQUESTER,
  type Stack,
  startStack,
  waitForAudit,
} from "./support/stack.js";

let stack: Stack;

afterEach(async () => {
  await stack?.stop();
});

function patches(s: Stack) {
  return s.auth0.apiRequests("PATCH", "/api/v2/connections");
}

/** Requests a promotion of ACME and returns the new request's id. */
function requestAcme(s: Stack, reason = "onboarding Acme"): Promise<string> {
  return ask(s, `${ACME.id} "${reason}"`);
}

describe("promoting a connection from Slack", () => {
  beforeEach(async () => {
    stack = await startStack();
  });

  it("a requester asks, an approver approves, Auth0 receives one PATCH that keeps the display name", async () => {
    const { ack, responseUrl } = await stack.command(REQUESTER, `${ACME.id} "onboarding Acme"`);
    // The first answer is the immediate ack, before any Auth0 call.
    expect(ack).toMatch(/Looking up/);
    const reply = await stack.waitForReply(responseUrl, /Request `req_/);
    expect(reply).toContain(ACME.name);
    expect(reply).toContain(ACME.id);
    expect(reply).toContain(`<@${APPROVER}>`);
    expect(reply).toContain("onboarding Acme");

    const requestId = await stack.latestRequestId();
    const approval = stack.slack.messages(APPROVAL_CHANNEL).at(-1);
    const blocks = JSON.stringify(approval?.blocks);
    for (const shown of [
      ACME.name,
      ACME.id,
      ACME.strategy,
      "Acme Employees",
      "onboarding Acme",
      REQUESTER,
    ]) {
      expect(blocks).toContain(shown);
    }
    expect(blocks).toContain('"action_id":"approve_request"');
    expect(blocks).toContain('"action_id":"deny_request"');
    expect(blocks).toContain('"confirm"');

    const click = await stack.click(APPROVER, "approve_request", requestId);
    expect(click.status).toBe(200);

    await waitForAudit(stack, "promoted", requestId);
    expect(patches(stack)).toHaveLength(1);
    expect(patches(stack)[0]?.body).toEqual({
      is_domain_connection: true,
      display_name: "Acme Employees",
    });
    expect(stack.auth0.connection(ACME.id)).toMatchObject({
      is_domain_connection: true,
      display_name: "Acme Employees",
    });

    const updated = await stack.slack.waitFor(() => {
      const m = stack.slack.messages(APPROVAL_CHANNEL).at(-1);
      return JSON.stringify(m?.blocks).includes("Promoted to domain level") ? m : undefined;
    });
    expect(JSON.stringify(updated.blocks)).not.toContain("approve_request");

    const dm = await stack.slack.waitFor(() => stack.slack.messages(REQUESTER).at(-1));
    expect(dm.text).toContain(requestId);
    expect(dm.text).toContain("Promoted");

    const audit = stack.auditTexts().filter((t) => t.includes(requestId));
    expect(audit.map((t) => t.split(" ")[0])).toEqual(["requested", "approved", "promoted"]);
    expect(audit[1]).toContain(`<@${APPROVER}>`);
    for (const line of stack.slack.messages(AUDIT_CHANNEL)) {
      expect(JSON.stringify(line.blocks)).toContain(ACME.id);
    }
  });

  it("a connection can be named instead of given by id", async () => {
    const { responseUrl } = await stack.command(REQUESTER, "acme-db needed by the Acme rollout");
    await stack.waitForReply(responseUrl, /Request `req_/);
    const lookups = stack.auth0.apiRequests("GET", "/api/v2/connections");
    expect(lookups.some((r) => r.query.name === "acme-db")).toBe(true);
  });

  it("20 Approve clicks at once promote the connection exactly once", async () => {
    const requestId = await requestAcme(stack);
    const clickers = [APPROVER, APPROVER_2, GROUP_APPROVER];
    const clicks = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        stack.click(clickers[i % clickers.length] as string, "approve_request", requestId),
      ),
    );
    expect(clicks.every((c) => c.status === 200)).toBe(true);
    await waitForAudit(stack, "promoted", requestId);
    expect(patches(stack)).toHaveLength(1);
    expect(stack.auditTexts().filter((t) => t.startsWith(`approved ${requestId}`))).toHaveLength(1);
    // The 19 late clicks are told, not silently ignored.
    const told = await stack.slack.waitFor(() => {
      const n = clicks.filter((c) =>
        stack.replies(c.responseUrl).some((t) => /already approved/.test(t)),
      ).length;
      return n === 19 ? n : undefined;
    });
    expect(told).toBe(19);
    await stack.slack.waitFor(() => stack.slack.messages(REQUESTER).length > 0, {
      what: "the requester's message",
    });
    expect(stack.slack.messages(REQUESTER)).toHaveLength(1);
  });

  it("a bystander's click and the requester's own approval are refused, audited, and change nothing", async () => {
    const requestId = await requestAcme(stack);
    const bystander = await stack.click(BYSTANDER, "approve_request", requestId);
    const self = await stack.click(REQUESTER, "approve_request", requestId);
    const denyBystander = await stack.click(BYSTANDER, "deny_request", requestId);

    expect(await stack.waitForReply(bystander.responseUrl, /cannot approve/)).toContain(
      "not one of the approvers",
    );
    expect(await stack.waitForReply(self.responseUrl, /cannot approve/)).toContain(
      "you made this request",
    );
    await stack.waitForReply(denyBystander.responseUrl, /cannot deny/);
    // One line per person and request within the flood window: the bystander's two refused
    // clicks make one.
    await stack.slack.waitFor(
      () => stack.auditTexts().filter((t) => t.startsWith(`refused ${requestId}`)).length === 2,
      { what: "two refused audit lines" },
    );
    expect(patches(stack)).toHaveLength(0);
    expect(JSON.stringify(stack.slack.messages(APPROVAL_CHANNEL).at(-1)?.blocks)).toContain(
      "approve_request",
    );
    expect(await stack.storedRequests()).toMatchObject([
      { id: requestId, state: "PENDING", approvals: [] },
    ]);

    // The request is still open: a real approver can still approve it.
    await stack.click(APPROVER, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId);
  });

  it("a member of the approver user group may approve", async () => {
    const requestId = await requestAcme(stack);
    await stack.click(GROUP_APPROVER, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId);
    expect(stack.slack.callsTo("usergroups.users.list").length).toBeGreaterThan(0);
  });

  it("Deny asks for a reason, then closes the request: no PATCH, buttons gone, requester told, audited", async () => {
    const requestId = await requestAcme(stack);
    const submitted = await stack.deny(APPROVER, requestId, "Acme is not onboarded yet");
    expect(submitted.status).toBe(200);
    const line = await waitForAudit(stack, "denied", requestId);
    expect(line).toContain("Acme is not onboarded yet");
    const dm = await stack.slack.waitFor(() => stack.slack.messages(REQUESTER).at(-1));
    expect(dm.text).toContain("Denied by");
    expect(dm.text).toContain("Acme is not onboarded yet");
    const message = await stack.slack.waitFor(() => {
      const m = stack.slack.messages(APPROVAL_CHANNEL).at(-1);
      return JSON.stringify(m?.blocks).includes("Denied by") ? m : undefined;
    });
    expect(JSON.stringify(message.blocks)).not.toContain("approve_request");
    expect(JSON.stringify(message.blocks)).toContain("Acme is not onboarded yet");
    const late = await stack.click(APPROVER_2, "approve_request", requestId);
    await stack.waitForReply(late.responseUrl, /already denied/);
    expect(patches(stack)).toHaveLength(0);
  });

  it("unknown, malformed and already-promoted connections are answered in words", async () => {
    const unknown = await stack.command(REQUESTER, "con_Nope000000000001 please");
    expect(await stack.waitForReply(unknown.responseUrl, /No connection/)).toContain(
      "con_Nope000000000001",
    );
    const unknownName = await stack.command(REQUESTER, "no-such-connection");
    await stack.waitForReply(unknownName.responseUrl, /No connection named/);

    const before = stack.auth0.requests.length;
    const malformed = await stack.command(REQUESTER, "con_../../clients x");
    expect(malformed.ack).toMatch(/not a valid connection id/);
    const weird = await stack.command(REQUESTER, "acme/../../x y");
    expect(weird.ack).toMatch(/neither a connection id/);
    expect(stack.auth0.requests.length).toBe(before);

    const already = await stack.command(REQUESTER, ALREADY_DOMAIN.id);
    await stack.waitForReply(already.responseUrl, /already a domain-level connection/);
    await expectNothingRequested(stack);
  });

  it("help shows how to use the command (with no argument it opens the request form instead)", async () => {
    const help = await stack.command(REQUESTER, "help");
    expect(help.ack).toContain("/promote-connection con_");
    const empty = await stack.command(REQUESTER, "");
    expect(empty.ack).toBe("");
    const opened = await stack.slack.waitFor(() => stack.slack.callsTo("views.open")[0]);
    expect(opened.args.view).toMatchObject({ callback_id: "request_change" });
  });

  it("what a requester types can never ping anyone or break the message", async () => {
    const hostile = "<!channel> @here <@UAPPROVER1> *bold* `code` <https://evil.example|click>";
    const requestId = await requestAcme(stack, hostile);
    const approval = stack.slack.messages(APPROVAL_CHANNEL).at(-1);
    expect(approval?.text).not.toMatch(/<!channel>|<@UAPPROVER1>|<https:/);
    expect(approval?.text).not.toMatch(/(^|[^\u200b])@here/);
    // In blocks the reason is plain_text: Slack shows it literally.
    const reasonBlock = (
      (approval?.blocks ?? []) as { elements?: { type: string; text: string }[] }[]
    ).find((b) => b.elements?.some((e) => e.text === hostile));
    expect(reasonBlock?.elements?.find((e) => e.text === hostile)?.type).toBe("plain_text");
    const requested = await waitForAudit(stack, "requested", requestId);
    expect(requested).not.toMatch(/<!channel>|<@UAPPROVER1>|<https:/);
    const again = await stack.command(REQUESTER, `${ALREADY_DOMAIN.id} ${hostile}`);
    const answer = await stack.waitForReply(again.responseUrl, /already a domain-level/);
    expect(`${again.ack}${answer}`).not.toMatch(/<!channel>|<https:/);
  });

  it("a request with a bad signature is refused with 401 and does nothing", async () => {
    const res = await sendSlashCommand(stack.eventsUrl, "not-the-signing-secret", {
      text: ACME.id,
      user_id: REQUESTER,
      team_id: "T0TEST001",
      response_url: stack.slack.responseUrl(),
    });
    expect(res.status).toBe(401);
    expect(stack.auth0.requests).toHaveLength(0);
  });

  it("no secret or token ever reaches the logs", async () => {
    const requestId = await requestAcme(stack);
    await stack.click(APPROVER, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId);
    const logs = stack.logs.join("\n");
    expect(logs).toContain(requestId);
    // Every line about the request carries its id, even the Auth0 client's, deep in the worker.
    const patchLine = stack.logs
      .map((l) => JSON.parse(l) as { msg?: string; method?: string; requestId?: string })
      .find((l) => l.msg === "Auth0 Management API call" && l.method === "PATCH");
    expect(patchLine?.requestId).toBe(requestId);
    expect(logs).not.toContain(stack.env.AUTH0_CLIENT_SECRET);
    expect(logs).not.toContain(stack.env.SLACK_BOT_TOKEN);
    expect(logs).not.toContain(stack.env.SLACK_SIGNING_SECRET);
    const tokenRequest = stack.auth0.requests.find(
      (r) => r.path === `/api/v2/connections/${ACME.id}`,
    );
    expect(tokenRequest?.token).toBeTruthy();
    expect(logs).not.toContain(tokenRequest?.token as string);
  });
});

describe("when the bot restarts", () => {
  it("a pending request survives and can still be approved", async () => {
    stack = await startStack();
    const requestId = await requestAcme(stack);
    await stack.restart();
    await stack.click(APPROVER, "approve_request", requestId);
    await waitForAudit(stack, "promoted", requestId);
    expect(patches(stack)).toHaveLength(1);
  });
});

describe("when something the bot needs is unavailable", () => {
  it("Auth0 unreachable: the requester is told, nothing is requested", async () => {
    stack = await startStack();
    stack.auth0.injectFault({ path: `/api/v2/connections/${ACME.id}`, kind: "reset" });
    const { responseUrl } = await stack.command(REQUESTER, ACME.id);
    const reply = await stack.waitForReply(responseUrl, /Could not look up/);
    expect(reply).toMatch(/Nothing was requested/);
    await expectNothingRequested(stack);
  });

  it("Redis unreachable: the requester is told, nothing is half-made", async () => {
    const redis = await startRedisServer();
    try {
      stack = await startStack({ env: { REDIS_URL: redis.url } });
      await redis.stop();
      // The per-person count is the first thing read: the refusal is the immediate answer,
      // within Slack's 3 s, and nothing reaches Auth0.
      const { ack } = await stack.command(REQUESTER, ACME.id);
      expect(ack).toMatch(/Redis is unreachable/);
      expect(ack).toMatch(/Nothing was requested/);
      expect(stack.auth0.apiRequests()).toHaveLength(0);
      expect(stack.slack.messages(APPROVAL_CHANNEL)).toHaveLength(0);
    } finally {
      await redis.stop();
    }
  });

  it("Dynamic Client Registration off or unreadable: the approval message warns", async () => {
    stack = await startStack();
    stack.auth0.setDynamicClientRegistration(false);
    await requestAcme(stack);
    expect(JSON.stringify(stack.slack.messages(APPROVAL_CHANNEL).at(-1)?.blocks)).toContain(
      "Dynamic Client Registration is off",
    );
    await stack.stop();
    stack = await startStack({
      auth0: { scopes: ["read:connections", "update:connections"] },
    });
    await requestAcme(stack);
    expect(JSON.stringify(stack.slack.messages(APPROVAL_CHANNEL).at(-1)?.blocks)).toContain(
      "Could not read the tenant's Dynamic Client Registration setting",
    );
  });
});
