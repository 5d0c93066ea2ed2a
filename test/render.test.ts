import { describe, expect, it } from "vitest";
import { renderBlocks, renderMessage, renderMrkdwn } from "../src/dev/render.js";
import { auditRecord } from "../src/requests/audit-log.js";
import type { ChangeRequest } from "../src/requests/model.js";
import { approvalMessage } from "../src/slack/views/approval-message.js";
import { auditLine } from "../src/slack/views/audit-line.js";
import { requestModal } from "../src/slack/views/request-modal.js";
import { escapeMrkdwn, slackDate } from "../src/slack/views/text.js";

const names = { UALICE001: "alice", UBOB00001: "bob", CAPPROVALS: "approvals" };

const AT = Date.UTC(2025, 0, 15, 9, 30);

const request: ChangeRequest = {
  id: "req_0123456789",
  kind: "connection-domain-level",
  tenant: "default",
  tenantDomain: "acme.us.auth0.com",
  action: "promote",
  state: "PENDING",
  target: {
    id: "con_AcmeEmployees001",
    name: "acme-employees",
    facts: {
      displayName: "Acme Employees",
      strategy: "auth0",
      wasDomainConnection: "0",
      dcr: "on",
    },
  },
  reason: "onboarding *Acme* <!channel>",
  requesterId: "UALICE001",
  teamId: "T0DEMO001",
  createdAt: AT,
  requiredApprovals: 1,
  approvals: [],
  dryRun: false,
  expiresAt: AT + 86_400_000,
  decidedBy: undefined,
  decidedAt: undefined,
  denyReason: undefined,
  completedAt: undefined,
  outcome: undefined,
  retryingUntil: undefined,
  approvalChannel: "CAPPROVALS",
  approvalTs: "1700000001.000100",
  auditThreadTs: undefined,
  auditPermalink: undefined,
};

describe("renderMrkdwn", () => {
  it("names people and channels from the map, and keeps the id of anyone it does not know", () => {
    expect(renderMrkdwn("<@UALICE001> asks <@UNKNOWN1> in <#CAPPROVALS>", { names })).toBe(
      "@alice asks @UNKNOWN1 in #approvals",
    );
    expect(renderMrkdwn("in <#C0OTHER01|random>")).toBe("in #random");
  });

  it("shows a date's fallback text, a link's label, and a user group's handle", () => {
    expect(renderMrkdwn(`requested ${slackDate(AT)}`)).toBe("requested 2025-01-15 09:30 UTC");
    expect(renderMrkdwn("see the <https://example.test/x|audit trail>")).toBe(
      "see the audit trail",
    );
    expect(renderMrkdwn("<https://example.test/x>")).toBe("https://example.test/x");
    expect(renderMrkdwn("<!subteam^SAPPROVE1|@approvers> or <!subteam^SAPPROVE1>")).toBe(
      "@approvers or @SAPPROVE1",
    );
    expect(renderMrkdwn("<!here>")).toBe("@here");
  });

  it("drops bold and code markers, but only where Slack would format", () => {
    expect(renderMrkdwn("*Connection*\n`acme-employees` is *now* domain-level.")).toBe(
      "Connection\nacme-employees is now domain-level.",
    );
    expect(renderMrkdwn("2 * 3 * 4 and a*b*c")).toBe("2 * 3 * 4 and a*b*c");
    expect(renderMrkdwn("`*not bold*`")).toBe("*not bold*");
  });

  it("shows what a person typed literally, as escapeMrkdwn made Slack show it", () => {
    const typed = "*urgent* <@U999> & @channel `x`";
    expect(renderMrkdwn(`Reason: ${escapeMrkdwn(typed)}`)).toBe(`Reason: ${typed}`);
  });

  it("turns the bot's emoji into symbols and leaves unknown ones as typed", () => {
    expect(renderMrkdwn(":white_check_mark: done :party_parrot: at 10:30:45")).toBe(
      "✅ done :party_parrot: at 10:30:45",
    );
  });
});

describe("renderBlocks", () => {
  it("renders a header as a title line, fields as `Label: value`, context labels, and buttons", () => {
    const text = renderBlocks(
      [
        { type: "header", text: { type: "plain_text", text: "Title" } },
        {
          type: "section",
          text: { type: "mrkdwn", text: "<@UBOB00001> says *hi*" },
          fields: [
            { type: "mrkdwn", text: "*Strategy*\n`auth0`" },
            { type: "plain_text", text: "Plain" },
          ],
        },
        {
          type: "context",
          elements: [
            { type: "mrkdwn", text: "*Reason*" },
            { type: "plain_text", text: "<@UBOB00001> *as typed*" },
          ],
        },
        { type: "divider" },
        {
          type: "actions",
          elements: [
            { type: "button", text: { type: "plain_text", text: "Approve" }, value: "x" },
            { type: "button", text: { type: "plain_text", text: "Deny" }, value: "x" },
            { type: "static_select", placeholder: { type: "plain_text", text: "Pick one" } },
          ],
        },
        { type: "video" },
      ],
      { names },
    );
    expect(text.split("\n")).toEqual([
      "Title",
      "═════",
      "@bob says hi",
      "Strategy: auth0",
      "Plain",
      // plain_text is shown as Slack shows it: literally.
      "Reason: <@UBOB00001> *as typed*",
      "────────────────────",
      "[Approve] [Deny] [Pick one ▾]",
      "[video block]",
    ]);
  });

  it("renders the bot's pending approval message as a person reads it", () => {
    const { blocks } = approvalMessage(request);
    expect(renderBlocks(blocks, { names }).split("\n")).toEqual([
      "Promote a connection to domain level",
      "════════════════════════════════════",
      "@alice asks to promote acme-employees in default (acme.us.auth0.com). It will then be usable by every application in the tenant, third-party ones included.",
      "Tenant: default (acme.us.auth0.com)",
      "Connection: acme-employees",
      "ID: con_AcmeEmployees001",
      "Strategy: auth0",
      "Domain-level when asked: No",
      "Display name: Acme Employees",
      "Reason: onboarding *Acme* <!channel>",
      "Request req_0123456789 · requested 2025-01-15 09:30 UTC · expires 2025-01-16 09:30 UTC",
      "Needs 1 approval.",
      "[Approve] [Deny]",
    ]);
  });

  it("renders a settled approval message without buttons", () => {
    const done = {
      ...request,
      state: "DONE" as const,
      approvals: ["UBOB00001"],
      completedAt: AT + 60_000,
    };
    const text = renderBlocks(approvalMessage(done).blocks, { names });
    expect(text).toContain("✅ Promoted to domain level 2025-01-15 09:31 UTC (approved by @bob).");
    expect(text).not.toContain("[Approve]");
  });

  it("a change carried out offers Request revert, confirming the opposite change; a dry run, a failure or a pending request does not", () => {
    const settled = { ...request, approvals: ["UBOB00001"], completedAt: AT + 60_000 };
    const done = approvalMessage({ ...settled, state: "DONE" });
    expect(renderBlocks(done.blocks, { names })).toContain("[Request revert]");
    const button = done.blocks
      .flatMap((b) => (b.type === "actions" ? b.elements : []))
      .find((e) => e.type === "button" && e.action_id === "request_revert");
    expect(button).toMatchObject({
      value: "req_0123456789",
      confirm: {
        title: { type: "plain_text", text: "Request a revert?" },
        text: {
          type: "plain_text",
          text: "Ask to demote acme-employees in default (acme.us.auth0.com)? It goes through the same approval.",
        },
        confirm: { type: "plain_text", text: "Request revert" },
      },
    });

    const dcr = approvalMessage({
      ...settled,
      state: "DONE",
      kind: "tenant-dcr",
      action: "enable-dcr",
      target: { id: "default", name: "default", facts: { wasEnabled: "0" } },
    });
    expect(JSON.stringify(dcr.blocks)).toContain(
      "Ask to turn off Dynamic Client Registration in default (acme.us.auth0.com)?",
    );

    for (const other of [
      { ...settled, state: "DONE" as const, dryRun: true },
      { ...settled, state: "FAILED" as const, outcome: "the Auth0 application lacks a scope" },
      { ...settled, state: "UNKNOWN" as const },
      { ...settled, state: "DENIED" as const },
      request,
    ]) {
      const text = renderBlocks(approvalMessage(other).blocks, { names });
      expect(text, `${other.state}${other.dryRun ? " (dry run)" : ""}`).not.toContain("revert");
    }
  });

  it("renders an audit line and its detail", () => {
    const line = auditLine(
      auditRecord({
        event: "refused",
        request,
        actorId: "UBOB00001",
        at: AT,
        detail: "approve refused: you are not one of the approvers",
      }),
    );
    expect(renderBlocks(line.blocks, { names })).toBe(
      "🔒 refused req_0123456789 · promote acme-employees (con_AcmeEmployees001) in default · by @bob · 2025-01-15 09:30 UTC\n" +
        "approve refused: you are not one of the approvers",
    );
  });
});

describe("renderMessage", () => {
  it("reads the blocks when there are some, the text otherwise", () => {
    expect(renderMessage({ text: "fallback", blocks: [{ type: "divider" }] })).toBe("─".repeat(20));
    expect(renderMessage({ text: ":lock: You cannot approve `req_1`", blocks: [] })).toBe(
      "🔒 You cannot approve req_1",
    );
  });

  it("renders the request form as a person reads it: the picks made, the reason the tenant requires", () => {
    const tenants = [
      { name: "dev", domain: "acme-dev.us.auth0.com", requireReason: false },
      { name: "prod", domain: "acme.us.auth0.com", requireReason: true },
    ];
    const { blocks } = requestModal({ tenants, tenant: "prod", action: "promote" });
    expect(renderBlocks(blocks, { names }).split("\n")).toEqual([
      "Tenant: [prod (acme.us.auth0.com) ▾]",
      "Change:",
      "  (•) Promote a connection to domain level",
      "  ( ) Demote a connection from domain level",
      "  ( ) Turn on Dynamic Client Registration",
      "  ( ) Turn off Dynamic Client Registration",
      "It will then be usable by every application in the tenant, third-party ones included.",
      "Connection in prod: [Find a connection ▾]",
      "  Type any part of its name, display name or id.",
      "Reason: [Why is this change needed?]",
      "  Required in prod (the tenant's policy). Shown to the approvers and in the audit trail.",
    ]);
    const dcr = requestModal({ tenants, tenant: "dev", action: "enable-dcr" });
    const text = renderBlocks(dcr.blocks, { names });
    expect(text).not.toContain("Connection");
    expect(text).toContain("Reason (optional): [Why is this change needed?]");
  });
});
