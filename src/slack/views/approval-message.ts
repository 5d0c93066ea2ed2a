import type { KnownBlock } from "@slack/types";
import type { PromotionRequest, RequestAction } from "../../requests/model.js";
import { code, escapeMrkdwn, mrkdwn, plain, slackDate, userMention } from "./text.js";

export const APPROVE_ACTION_ID = "approve_request";
export const DENY_ACTION_ID = "deny_request";

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export const ACTION_WORDS: Record<
  RequestAction,
  { verb: string; title: string; done: string; effect: string }
> = {
  promote: {
    verb: "promote",
    title: "Promote a connection to domain level",
    done: "Promoted to domain level",
    effect:
      "It will then be usable by *every application in the tenant*, third-party ones included.",
  },
  demote: {
    verb: "demote",
    title: "Demote a connection from domain level",
    done: "Demoted: no longer domain-level",
    effect:
      "Applications that are not explicitly enabled for it, third-party ones included, will *lose access* to it.",
  },
};

/** One line naming the connection for notification text and DMs. */
export function connectionLabel(
  request: Pick<PromotionRequest, "connectionName" | "connectionId">,
): string {
  return `${code(request.connectionName)} (${code(request.connectionId)})`;
}

function dcrWarning(request: PromotionRequest): KnownBlock | undefined {
  if (request.dcr === "on" || request.action === "demote") return undefined;
  const text =
    request.dcr === "off"
      ? ":warning: *Dynamic Client Registration is off* in this tenant: promoting this connection will not make it available to third-party (dynamically registered) applications."
      : ":warning: *Could not read the tenant's Dynamic Client Registration setting* (the Auth0 application may lack `read:tenant_settings`): check whether promotion will reach third-party applications.";
  return { type: "section", text: mrkdwn(text) };
}

const DRY_RUN_NOTE =
  ":test_tube: *Dry run*: the bot checks everything but changes nothing in Auth0.";

/** Who approved so far and how many are still needed. */
export function approvalProgress(request: PromotionRequest): string {
  const done = request.approvals.length;
  const left = Math.max(0, request.requiredApprovals - done);
  const who = done > 0 ? request.approvals.map(userMention).join(", ") : "nobody yet";
  if (request.requiredApprovals <= 1 && done === 0) return "Needs 1 approval.";
  return `Approvals: ${who} (${done} of ${request.requiredApprovals})${left > 0 ? `, ${left} more needed` : ""}.`;
}

/** Where the request stands, once it is no longer waiting for a decision. */
export function statusLine(request: PromotionRequest): string | undefined {
  const words = ACTION_WORDS[request.action];
  const by =
    request.approvals.length > 0 ? request.approvals.map(userMention).join(", ") : "someone";
  const at = (ms: number | undefined) => (ms ? slackDate(ms) : "");
  const dry = request.dryRun ? " (dry run: nothing was changed)" : "";
  switch (request.state) {
    case "PENDING":
      return undefined;
    case "APPROVED":
      return `:hourglass_flowing_sand: Approved by ${by} ${at(request.decidedAt)}, ${request.dryRun ? "checking (dry run)" : `${words.verb.replace(/e$/, "")}ing`}…`;
    case "DONE":
      return request.dryRun
        ? `:test_tube: Dry run finished ${at(request.completedAt)}: would ${words.verb} it; nothing was changed (approved by ${by}).`
        : `:white_check_mark: ${words.done} ${at(request.completedAt)} (approved by ${by}).`;
    case "FAILED":
      return `:x: ${request.action === "promote" ? "Promotion" : "Demotion"} failed ${at(request.completedAt)} (approved by ${by})${dry}.`;
    case "DENIED":
      return `:no_entry_sign: Denied by ${request.decidedBy ? userMention(request.decidedBy) : "an approver"} ${at(request.decidedAt)}.`;
    case "EXPIRED":
      return `:alarm_clock: Expired ${at(request.completedAt)} without enough approvals.`;
    case "CANCELLED":
      return `:leftwards_arrow_with_hook: Withdrawn ${at(request.completedAt)}.`;
  }
}

/** The Approve / Deny buttons; also used on the App Home tab, with the same ids and checks. */
export function decisionButtons(request: PromotionRequest): KnownBlock {
  const words = ACTION_WORDS[request.action];
  return {
    type: "actions",
    block_id: `decision_${request.id}`,
    elements: [
      {
        type: "button",
        action_id: APPROVE_ACTION_ID,
        style: "primary",
        text: plain("Approve"),
        value: request.id,
        confirm: {
          title: plain(
            `${words.verb[0]?.toUpperCase()}${words.verb.slice(1)} this connection?`,
            100,
          ),
          text: plain(
            request.action === "promote"
              ? `${request.connectionName} will become usable by every application in the tenant, third-party ones included.${request.dryRun ? " (Dry run: nothing will change.)" : ""}`
              : `${request.connectionName} will no longer be a domain-level connection.${request.dryRun ? " (Dry run: nothing will change.)" : ""}`,
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
  };
}

/**
 * The message in the approvals channel. While PENDING it carries the Approve / Deny buttons; once
 * decided the buttons give way to a status line, so nobody clicks on a settled request.
 */
export function approvalMessage(request: PromotionRequest): SlackMessage {
  const words = ACTION_WORDS[request.action];
  const blocks: KnownBlock[] = [
    { type: "header", text: plain(`${request.dryRun ? "[Dry run] " : ""}${words.title}`, 150) },
  ];
  if (request.dryRun) blocks.push({ type: "context", elements: [mrkdwn(DRY_RUN_NOTE)] });
  blocks.push(
    {
      type: "section",
      text: mrkdwn(
        `${userMention(request.requesterId)} asks to *${words.verb}* ${code(request.connectionName)}. ${words.effect}`,
      ),
    },
    {
      type: "section",
      fields: [
        mrkdwn(`*Connection*\n${code(request.connectionName)}`),
        mrkdwn(`*ID*\n${code(request.connectionId)}`),
        mrkdwn(`*Strategy*\n${code(request.strategy)}`),
        mrkdwn(`*Domain-level when asked*\n${request.wasDomainConnection ? "Yes" : "No"}`),
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
  );
  const warning = dcrWarning(request);
  if (warning) blocks.push(warning);
  const trail = request.auditPermalink ? ` · <${request.auditPermalink}|audit trail>` : "";
  blocks.push({
    type: "context",
    elements: [
      mrkdwn(
        `Request ${code(request.id)} · requested ${slackDate(request.createdAt)} · expires ${slackDate(request.expiresAt)}${trail}`,
      ),
    ],
  });

  const status = statusLine(request);
  if (status === undefined) {
    blocks.push({ type: "section", text: mrkdwn(approvalProgress(request)) });
    blocks.push(decisionButtons(request));
  } else {
    blocks.push({ type: "section", text: mrkdwn(status) });
    if (request.state === "DENIED" && request.denyReason) {
      blocks.push({
        type: "context",
        elements: [mrkdwn("*Why*"), plain(request.denyReason, 2000)],
      });
    }
    if (request.state === "FAILED" && request.outcome) {
      blocks.push({ type: "context", elements: [mrkdwn("*Why*"), plain(request.outcome, 2000)] });
    }
  }

  const state = status ? ` (${request.state.toLowerCase()})` : "";
  return {
    text: `${request.dryRun ? "[dry run] " : ""}Request ${request.id} to ${words.verb} ${request.connectionName}${state} by ${userMention(request.requesterId)}: ${escapeMrkdwn(request.reason || "no reason given")}`,
    blocks,
  };
}
