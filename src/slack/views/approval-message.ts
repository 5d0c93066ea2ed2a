import type { KnownBlock } from "@slack/types";
import type { PromotionRequest } from "../../requests/model.js";
import { code, escapeMrkdwn, mrkdwn, plain, slackDate, userMention } from "./text.js";

export const APPROVE_ACTION_ID = "approve_request";
export const DENY_ACTION_ID = "deny_request";

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** One line naming the connection for notification text and DMs. */
export function connectionLabel(request: PromotionRequest): string {
  return `${code(request.connectionName)} (${code(request.connectionId)})`;
}

function dcrWarning(request: PromotionRequest): KnownBlock | undefined {
  if (request.dcr === "on") return undefined;
  const text =
    request.dcr === "off"
      ? ":warning: *Dynamic Client Registration is off* in this tenant: promoting this connection will not make it available to third-party (dynamically registered) applications."
      : ":warning: *Could not read the tenant's Dynamic Client Registration setting* (the Auth0 application may lack `read:tenant_settings`): check whether promotion will reach third-party applications.";
  return { type: "section", text: mrkdwn(text) };
}

/** Where the request stands, once it is no longer waiting for a decision. */
export function statusLine(request: PromotionRequest): string | undefined {
  const by = request.decidedBy ? userMention(request.decidedBy) : "someone";
  const at = (ms: number | undefined) => (ms ? slackDate(ms) : "");
  switch (request.state) {
    case "PENDING":
      return undefined;
    case "APPROVED":
      return `:hourglass_flowing_sand: Approved by ${by} ${at(request.decidedAt)}, promoting…`;
    case "DONE":
      return `:white_check_mark: Promoted to domain level ${at(request.completedAt)} (approved by ${by}).`;
    case "FAILED":
      return `:x: Promotion failed ${at(request.completedAt)} (approved by ${by}).`;
    case "DENIED":
      return `:no_entry_sign: Denied by ${by} ${at(request.decidedAt)}.`;
    case "EXPIRED":
      return `:alarm_clock: Expired ${at(request.completedAt)} without a decision.`;
    case "CANCELLED":
      return `:leftwards_arrow_with_hook: Cancelled by the requester ${at(request.completedAt)}.`;
  }
}

/**
 * The message in the approvals channel. While PENDING it carries the Approve / Deny buttons; once
 * decided the buttons give way to a status line, so nobody clicks on a settled request.
 */
export function approvalMessage(request: PromotionRequest): SlackMessage {
  const blocks: KnownBlock[] = [
    { type: "header", text: plain("Promote a connection to domain level", 150) },
    {
      type: "section",
      text: mrkdwn(
        `${userMention(request.requesterId)} asks to promote ${code(request.connectionName)} to a domain-level connection. ` +
          "It will then be usable by *every application in the tenant*, third-party ones included.",
      ),
    },
    {
      type: "section",
      fields: [
        mrkdwn(`*Connection*\n${code(request.connectionName)}`),
        mrkdwn(`*ID*\n${code(request.connectionId)}`),
        mrkdwn(`*Strategy*\n${code(request.strategy)}`),
        mrkdwn(`*Domain-level now*\n${request.wasDomainConnection ? "Yes" : "No"}`),
      ],
    },
    {
      type: "context",
      elements: [mrkdwn("*Display name*"), plain(request.displayName ?? "(none)", 500)],
    },
    {
      type: "context",
      elements: [mrkdwn("*Reason*"), plain(request.reason || "(none given)", 2000)],
    },
  ];
  const warning = dcrWarning(request);
  if (warning) blocks.push(warning);
  blocks.push({
    type: "context",
    elements: [mrkdwn(`Request ${code(request.id)} · requested ${slackDate(request.createdAt)}`)],
  });

  const status = statusLine(request);
  if (status === undefined) {
    blocks.push({
      type: "actions",
      block_id: "decision",
      elements: [
        {
          type: "button",
          action_id: APPROVE_ACTION_ID,
          style: "primary",
          text: plain("Approve"),
          value: request.id,
          confirm: {
            title: plain("Promote this connection?", 100),
            text: plain(
              `${request.connectionName} will become usable by every application in the tenant, third-party ones included.`,
              300,
            ),
            confirm: plain("Approve"),
            deny: plain("Cancel"),
          },
        },
        {
          type: "button",
          action_id: DENY_ACTION_ID,
          style: "danger",
          text: plain("Deny"),
          value: request.id,
        },
      ],
    });
  } else {
    blocks.push({ type: "section", text: mrkdwn(status) });
    if (request.state === "FAILED" && request.outcome) {
      blocks.push({ type: "context", elements: [mrkdwn("*Why*"), plain(request.outcome, 2000)] });
    }
  }

  const state = status ? ` (${request.state.toLowerCase()})` : "";
  return {
    text: `Promotion request ${request.id}${state}: ${request.connectionName} by ${userMention(request.requesterId)}: ${escapeMrkdwn(request.reason || "no reason given")}`,
    blocks,
  };
}
