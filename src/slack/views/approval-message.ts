import type { KnownBlock } from "@slack/types";
import { changeKind, type TargetFact, wordsFor, wordsOf } from "../../requests/changes/index.js";
import type { ChangeRequest } from "../../requests/model.js";
import { type Revert, revertOf } from "../../requests/revert.js";
import { tenantLabel } from "../../requests/tenants.js";
import {
  code,
  escapeMrkdwn,
  mrkdwn,
  plain,
  slackDate,
  slackTime,
  truncate,
  userMention,
} from "./text.js";

export const APPROVE_ACTION_ID = "approve_request";
export const DENY_ACTION_ID = "deny_request";
/** On a promotion in a tenant whose DCR is off: files the request to turn DCR on. */
export const REQUEST_ENABLE_DCR_ACTION_ID = "request_enable_dcr";
/** On a change carried out (DONE, not a dry run): files the opposite change, for approval. */
export const REQUEST_REVERT_ACTION_ID = "request_revert";

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** One line naming the target for notification text and DMs. */
export function targetLabel(request: Pick<ChangeRequest, "target" | "kind">): string {
  const kind = changeKind(request.kind);
  return (
    kind.label?.(request.target) ?? `${code(request.target.name)} (${code(request.target.id)})`
  );
}

/** The target as the object of a sentence ("asks to promote `acme-db`"); none for a tenant. */
function targetInSentence(request: Pick<ChangeRequest, "target" | "kind">): string {
  return changeKind(request.kind).targetIsTenant ? "" : ` ${code(request.target.name)}`;
}

/** "prod (acme.us.auth0.com)": every message names the tenant, so prod is never taken for dev. */
export function tenantOf(request: Pick<ChangeRequest, "tenant" | "tenantDomain">): string {
  return tenantLabel(request.tenant, request.tenantDomain);
}

const DRY_RUN_NOTE =
  ":test_tube: *Dry run*: the bot checks everything but changes nothing in Auth0.";

/** Who approved so far and how many are still needed. */
export function approvalProgress(request: ChangeRequest): string {
  const done = request.approvals.length;
  const left = Math.max(0, request.requiredApprovals - done);
  const who = done > 0 ? request.approvals.map(userMention).join(", ") : "nobody yet";
  if (request.requiredApprovals <= 1 && done === 0) return "Needs 1 approval.";
  return `Approvals: ${who} (${done} of ${request.requiredApprovals})${left > 0 ? `, ${left} more needed` : ""}.`;
}

/** Where the request stands, once it is no longer waiting for a decision. */
export function statusLine(request: ChangeRequest): string | undefined {
  const words = wordsOf(request);
  const by =
    request.approvals.length > 0 ? request.approvals.map(userMention).join(", ") : "someone";
  const at = (ms: number | undefined) => (ms ? slackDate(ms) : "");
  const dry = request.dryRun ? " (dry run: nothing was changed)" : "";
  switch (request.state) {
    case "PENDING":
      return undefined;
    case "APPROVED":
      return request.retryingUntil
        ? `:hourglass_flowing_sand: Approved by ${by} ${at(request.decidedAt)}. Auth0 is unavailable; retrying until ${slackTime(request.retryingUntil)}.`
        : `:hourglass_flowing_sand: Approved by ${by} ${at(request.decidedAt)}, ${request.dryRun ? "checking (dry run)" : words.doing}…`;
    case "DONE":
      return request.dryRun
        ? `:test_tube: Dry run finished ${at(request.completedAt)}: would ${words.verb} it; nothing was changed (approved by ${by}).`
        : `:white_check_mark: ${words.done} ${at(request.completedAt)} (approved by ${by}).`;
    case "FAILED":
      return `:x: ${words.noun} failed ${at(request.completedAt)} (approved by ${by})${dry}.`;
    case "UNKNOWN":
      return `:grey_question: Outcome unknown ${at(request.completedAt)}: check in Auth0 whether it was applied (approved by ${by})${dry}.`;
    case "DENIED":
      return `:no_entry_sign: Denied by ${request.decidedBy ? userMention(request.decidedBy) : "an approver"} ${at(request.decidedAt)}.`;
    case "EXPIRED":
      return `:alarm_clock: Expired ${at(request.completedAt)} without enough approvals.`;
    case "CANCELLED":
      return `:leftwards_arrow_with_hook: Withdrawn ${at(request.completedAt)}.`;
  }
}

/** The Approve / Deny buttons; also used on the App Home tab, with the same ids and checks. */
export function decisionButtons(request: ChangeRequest): KnownBlock {
  const words = wordsOf(request);
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
          title: plain(words.confirmTitle, 100),
          text: plain(words.confirmText(request), 300),
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
 * What the kind says about the target: identifiers and short facts as section fields, text that
 * Auth0 or a person supplied as its own context block, shown literally.
 */
function factBlocks(facts: TargetFact[]): KnownBlock[] {
  const fields = facts
    .filter((f) => f.style !== "plain")
    .map((f) => mrkdwn(`*${f.label}*\n${f.style === "code" ? code(f.value) : f.value}`, 2000));
  const blocks: KnownBlock[] = [];
  // Slack allows 10 fields a section.
  for (let i = 0; i < fields.length; i += 10) {
    blocks.push({ type: "section", fields: fields.slice(i, i + 10) });
  }
  for (const f of facts.filter((f) => f.style === "plain")) {
    blocks.push({ type: "context", elements: [mrkdwn(`*${f.label}*`), plain(f.value, 500)] });
  }
  return blocks;
}

/** What the change reaches beyond its target: our words, then what Auth0 supplied, literally. */
function impactBlocks(request: ChangeRequest): KnownBlock[] {
  const impact = changeKind(request.kind).impact?.(request);
  if (!impact) return [];
  const blocks: KnownBlock[] = [{ type: "section", text: mrkdwn(impact.summary) }];
  if (impact.detail) {
    blocks.push({
      type: "context",
      elements: [mrkdwn(`*${impact.detail.label}*`), plain(impact.detail.text, 2000)],
    });
  }
  return blocks;
}

/** The impact in one line of mrkdwn, for summaries (status, App Home). */
export function impactLine(request: ChangeRequest): string | undefined {
  const impact = changeKind(request.kind).impact?.(request);
  if (!impact) return undefined;
  return impact.detail
    ? `${impact.summary} ${impact.detail.label}: ${escapeMrkdwn(truncate(impact.detail.text, 500))}`
    : impact.summary;
}

/**
 * A pending promotion in a tenant whose Dynamic Client Registration was off: promoting alone will
 * not reach third-party applications, so the message offers to ask for DCR too, in one click.
 */
function offersDcr(request: ChangeRequest): boolean {
  return (
    request.state === "PENDING" &&
    request.kind === "connection-domain-level" &&
    request.action === "promote" &&
    request.target.facts.dcr === "off"
  );
}

/**
 * "Request revert", once a change was carried out: the confirmation names the opposite change,
 * so nobody files it by a slip, and says that it too needs an approval.
 */
function revertButton(request: ChangeRequest, revert: Extract<Revert, { ok: true }>): KnownBlock {
  const verb = wordsFor(revert.kind, revert.action).verb;
  const target = revert.kind.targetIsTenant ? "" : ` ${request.target.name}`;
  return {
    type: "actions",
    block_id: `revert_${request.id}`,
    elements: [
      {
        type: "button",
        action_id: REQUEST_REVERT_ACTION_ID,
        text: plain("Request revert", 75),
        value: request.id,
        confirm: {
          title: plain("Request a revert?", 100),
          text: plain(
            `Ask to ${verb}${target} in ${tenantOf(request)}? It goes through the same approval.`,
            300,
          ),
          confirm: plain("Request revert", 30),
          deny: plain("Cancel", 30),
        },
      },
    ],
  };
}

/**
 * The message in the approvals channel. While PENDING it carries the Approve / Deny buttons; once
 * decided the buttons give way to a status line, so nobody clicks on a settled request, and a
 * change carried out offers "Request revert".
 */
export function approvalMessage(request: ChangeRequest): SlackMessage {
  const kind = changeKind(request.kind);
  const words = wordsOf(request);
  const blocks: KnownBlock[] = [
    { type: "header", text: plain(`${request.dryRun ? "[Dry run] " : ""}${words.title}`, 150) },
  ];
  if (request.dryRun) blocks.push({ type: "context", elements: [mrkdwn(DRY_RUN_NOTE)] });
  blocks.push(
    {
      type: "section",
      text: mrkdwn(
        `${userMention(request.requesterId)} asks to *${words.verb}*${targetInSentence(request)} in *${tenantOf(request)}*. ${words.effect}`,
      ),
    },
    ...factBlocks([
      { label: "Tenant", value: tenantOf(request), style: "text" },
      ...kind.facts(request),
    ]),
    {
      type: "context",
      elements: [mrkdwn("*Reason*"), plain(request.reason || "(none given)", 2000)],
    },
  );
  blocks.push(...impactBlocks(request));
  for (const warning of kind.warnings(request)) {
    blocks.push({ type: "section", text: mrkdwn(warning) });
  }
  if (offersDcr(request)) {
    blocks.push({
      type: "actions",
      block_id: `dcr_${request.id}`,
      elements: [
        {
          type: "button",
          action_id: REQUEST_ENABLE_DCR_ACTION_ID,
          text: plain("Also request enabling DCR", 75),
          value: request.id,
        },
      ],
    });
  }
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
    if ((request.state === "FAILED" || request.state === "UNKNOWN") && request.outcome) {
      blocks.push({ type: "context", elements: [mrkdwn("*Why*"), plain(request.outcome, 2000)] });
    }
    const revert = revertOf(request);
    if (revert.ok) blocks.push(revertButton(request, revert));
  }

  const state = status ? ` (${request.state.toLowerCase()})` : "";
  return {
    text: `${request.dryRun ? "[dry run] " : ""}Request ${request.id} to ${words.verb}${changeKind(request.kind).targetIsTenant ? "" : ` ${request.target.name}`} in ${tenantOf(request)}${state} by ${userMention(request.requesterId)}: ${escapeMrkdwn(request.reason || "no reason given")}`,
    blocks,
  };
}
