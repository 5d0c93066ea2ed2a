import { afterEach, describe, expect, it } from "vitest";
import { revertReason } from "../src/requests/revert.js";
import {
  ACME,
  APPROVAL_CHANNEL,
  APPROVER,
  APPROVER_2,
  ask,
  BYSTANDER,
  REQUESTER,
  requestAndApprove,
  type Stack,
  startStack,
  waitForAudit,
} from "./support/stack.js";

/**
 * "Request revert" on the message of a change carried out: one click files the opposite change,
 * on behalf of whoever clicks, through the same policy and approval as a command.
 */

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** The approval message of one request, as JSON (the channel holds several). */
function messageOf(s: Stack, requestId: string): string {
  const message = s.slack
    .messages(APPROVAL_CHANNEL)
    .find((m) => JSON.stringify(m.blocks ?? []).includes(`Request \`${requestId}\``));
  return JSON.stringify(message?.blocks ?? []);
}

/** Waits until the approval message of `requestId` offers "Request revert"; returns it. */
function revertOffered(s: Stack, requestId: string): Promise<string> {
  return s.slack.waitFor(
    () => {
      const message = messageOf(s, requestId);
      return message.includes("request_revert") ? message : undefined;
    },
    { what: `"Request revert" on the message of ${requestId}` },
  );
}

/** The connection PATCHes Auth0 received, their bodies in order. */
function connectionPatches(s: Stack): unknown[] {
  return s.auth0.apiRequests("PATCH", "/api/v2/connections/").map((p) => p.body);
}

describe("Request revert", () => {
  it("a promotion carried out offers it; a click files the demotion for whoever clicked, which goes through approval and demotes", async () => {
    stack = await startStack();
    const s = stack;
    const promotionId = await requestAndApprove(s, `${ACME.id} "onboarding Acme"`);
    await waitForAudit(s, "promoted", promotionId);

    const offered = await revertOffered(s, promotionId);
    expect(offered).toContain("Request revert");
    expect(offered).toContain(
      "Ask to demote acme-db in default (127.0.0.1:" /* the emulator's host */,
    );
    expect(offered).toContain("It goes through the same approval.");

    const click = await s.click(BYSTANDER, "request_revert", promotionId);
    expect(click.status).toBe(200);
    const reply = await s.waitForReply(click.responseUrl, /Request `req_/);
    expect(reply).toContain("created: demote `acme-db`");
    // (Slack's formatting characters in a reason are set apart by zero-width spaces.)
    expect(reply.replace(/\u200b/g, "")).toContain(`Reason: Revert of ${promotionId}`);
    const revertId = await s.latestRequestId();
    expect(revertId).not.toBe(promotionId);
    const stored = (await s.storedRequests()).find((r) => r.id === revertId);
    expect(stored).toMatchObject({
      kind: "connection-domain-level",
      action: "demote",
      tenant: "default",
      target: { id: ACME.id, name: ACME.name },
      requesterId: BYSTANDER,
      state: "PENDING",
      reason: `Revert of ${promotionId} (asked for: "onboarding Acme")`,
    });
    const approval = messageOf(s, revertId);
    expect(approval).toContain("Demote a connection from domain level");
    expect(approval).toContain(`Revert of ${promotionId}`);
    expect(approval).toContain("approve_request");

    // A second click, anyone's, finds the open revert instead of filing another.
    const again = await s.click(APPROVER_2, "request_revert", promotionId);
    expect(await s.waitForReply(again.responseUrl, /already an open request/)).toContain(revertId);
    expect(await s.storedRequests()).toHaveLength(2);

    await s.click(APPROVER, "approve_request", revertId);
    await waitForAudit(s, "demoted", revertId);
    expect(connectionPatches(s)).toEqual([
      { is_domain_connection: true, display_name: ACME.display_name },
      { is_domain_connection: false, display_name: ACME.display_name },
    ]);
    expect(s.auth0.connection(ACME.id)?.is_domain_connection).toBe(false);
    // The person who clicked is the requester: told how it ended.
    const dm = await s.slack.waitFor(() =>
      s.slack.messages(BYSTANDER).find((m) => m.text?.includes(revertId)),
    );
    expect(dm.text).toContain("Demoted");
    // The demotion, carried out, can be reverted in its turn.
    expect(await revertOffered(s, revertId)).toContain("Ask to promote acme-db");
  });

  it("someone who may not ask is refused, in words and audited, and nothing is requested", async () => {
    stack = await startStack({ env: { REQUESTER_USER_IDS: REQUESTER } });
    const s = stack;
    const promotionId = await requestAndApprove(s);
    await waitForAudit(s, "promoted", promotionId);
    await revertOffered(s, promotionId);
    const posted = s.slack.messages(APPROVAL_CHANNEL).length;

    // An approver is not a requester.
    const click = await s.click(APPROVER, "request_revert", promotionId);
    expect(await s.waitForReply(click.responseUrl, /cannot ask to revert/)).toMatch(
      /request `req_\w+`: only <@UREQUESTER> may ask for connection changes\. Nothing was requested\./,
    );
    const refused = await waitForAudit(s, "refused", promotionId);
    expect(refused).toContain(`by <@${APPROVER}>`);
    expect(refused).toContain("revert refused");
    expect(await s.storedRequests()).toHaveLength(1);
    expect(s.slack.messages(APPROVAL_CHANNEL)).toHaveLength(posted);

    // The requester may.
    const allowed = await s.click(REQUESTER, "request_revert", promotionId);
    expect(await s.waitForReply(allowed.responseUrl, /Request `req_/)).toContain("demote");
    expect(connectionPatches(s)).toHaveLength(1);
  });

  it("reverted by hand meanwhile (demoted in the Dashboard): the click is told there is nothing to do", async () => {
    stack = await startStack();
    const s = stack;
    const promotionId = await requestAndApprove(s);
    await waitForAudit(s, "promoted", promotionId);
    await revertOffered(s, promotionId);
    s.auth0.addConnection({ ...ACME, is_domain_connection: false });

    const click = await s.click(REQUESTER, "request_revert", promotionId);
    expect(await s.waitForReply(click.responseUrl, /nothing to approve/)).toContain(
      "is not a domain-level connection",
    );
    expect(await s.storedRequests()).toHaveLength(1);
  });

  it("a dry run offers none, and a forged click on it is refused: nothing was changed", async () => {
    stack = await startStack({ env: { DRY_RUN: "true" } });
    const s = stack;
    const id = await requestAndApprove(s);
    await waitForAudit(s, "dry-run", id);
    await s.slack.waitFor(() => messageOf(s, id).includes("nothing was changed") || undefined, {
      what: "the approval message to show the dry run's outcome",
    });
    expect(messageOf(s, id)).not.toContain("request_revert");

    const forged = await s.click(REQUESTER, "request_revert", id);
    expect(await s.waitForReply(forged.responseUrl, /nothing to revert/)).toBe(
      `:information_source: Request \`${id}\` was a dry run: nothing was changed, so there is nothing to revert. Nothing was requested.`,
    );
    expect(await s.storedRequests()).toHaveLength(1);
  });

  it("a failed or a pending request offers none, and forged clicks on them, or on no request, are refused", async () => {
    stack = await startStack({ auth0: { scopes: ["read:connections", "read:tenant_settings"] } });
    const s = stack;
    const id = await ask(s, ACME.id);
    expect(messageOf(s, id)).not.toContain("request_revert");
    const early = await s.click(REQUESTER, "request_revert", id);
    expect(await s.waitForReply(early.responseUrl, /nothing to revert/)).toContain(
      "is still waiting for a decision",
    );

    await s.click(APPROVER, "approve_request", id);
    await waitForAudit(s, "failed", id);
    await s.slack.waitFor(() => messageOf(s, id).includes("failed") || undefined, {
      what: "the approval message to show the failure",
    });
    expect(messageOf(s, id)).not.toContain("request_revert");
    const forged = await s.click(REQUESTER, "request_revert", id);
    expect(await s.waitForReply(forged.responseUrl, /nothing to revert/)).toContain(
      "failed: its change was not made",
    );

    const unknown = await s.click(REQUESTER, "request_revert", "req_0000000000");
    expect(await s.waitForReply(unknown.responseUrl, /does not belong/)).toContain(
      "a request this bot knows",
    );
    expect(await s.storedRequests()).toHaveLength(1);
    expect(connectionPatches(s)).toHaveLength(1);
  });

  it("turning DCR on, reverted, files turning it off, and Auth0 receives exactly that flag", async () => {
    stack = await startStack({ auth0: { dynamicClientRegistration: false } });
    const s = stack;
    const enableId = await requestAndApprove(s, 'enable-dcr "third-party apps"');
    await waitForAudit(s, "dcr-enabled", enableId);
    expect(await revertOffered(s, enableId)).toContain(
      "Ask to turn off Dynamic Client Registration in default",
    );

    const click = await s.click(REQUESTER, "request_revert", enableId);
    expect(await s.waitForReply(click.responseUrl, /Request `req_/)).toContain(
      "turn off Dynamic Client Registration",
    );
    const disableId = await s.latestRequestId();
    expect((await s.storedRequests()).find((r) => r.id === disableId)).toMatchObject({
      kind: "tenant-dcr",
      action: "disable-dcr",
      target: { id: "default" },
      requesterId: REQUESTER,
      reason: `Revert of ${enableId} (asked for: "third-party apps")`,
    });
    await s.click(APPROVER, "approve_request", disableId);
    await waitForAudit(s, "dcr-disabled", disableId);
    expect(s.auth0.apiRequests("PATCH", "/api/v2/tenants/settings").map((p) => p.body)).toEqual([
      { flags: { enable_dynamic_client_registration: true } },
      { flags: { enable_dynamic_client_registration: false } },
    ]);
  });
});

describe("a revert's reason", () => {
  it("names the request it undoes and quotes its reason on one line, shortened", () => {
    expect(revertReason({ id: "req_0123456789", reason: "" })).toBe("Revert of req_0123456789");
    expect(revertReason({ id: "req_0123456789", reason: "onboarding\n  Acme" })).toBe(
      'Revert of req_0123456789 (asked for: "onboarding Acme")',
    );
    const long = revertReason({ id: "req_0123456789", reason: "x".repeat(1000) });
    expect(long).toMatch(/^Revert of req_0123456789 \(asked for: "x+…"\)$/);
    expect(long.length).toBeLessThan(200);
  });
});
