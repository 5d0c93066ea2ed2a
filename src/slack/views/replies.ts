import type { PromotionRequest } from "../../requests/model.js";
import { ACTION_WORDS, approvalProgress, connectionLabel, statusLine } from "./approval-message.js";
import { code, escapeMrkdwn, slackDate } from "./text.js";

export const COMMAND = "/promote-connection";

export function usage(): string {
  return [
    `*${COMMAND}* asks for an Auth0 connection to be made domain-level (or no longer), after an approver agrees.`,
    "",
    `• \`${COMMAND} <con_id | name> [reason]\`: promote a connection to domain level (same as \`promote …\`)`,
    `• \`${COMMAND} demote <con_id | name> [reason]\`: make it no longer domain-level`,
    `• \`${COMMAND} status <request id | con_id | name>\`: where a request stands, or a connection's state and open requests`,
    `• \`${COMMAND} list\`: open requests (and which wait for you)`,
    `• \`${COMMAND} cancel <request id>\`: withdraw your pending request`,
    `• \`${COMMAND} history [con_id | name]\`: recent audit events, newest first`,
    `• \`${COMMAND} help\`: this text`,
    "",
    `Example: \`${COMMAND} con_A1b2C3d4E5f6G7h8 "onboarding Acme"\``,
  ].join("\n");
}

/** A request in one or two lines, for status, list and App Home. */
export function requestSummary(request: PromotionRequest): string {
  const words = ACTION_WORDS[request.action];
  const head = `${code(request.id)} ${request.dryRun ? "[dry run] " : ""}*${words.verb}* ${connectionLabel(request)}, asked by <@${request.requesterId}> ${slackDate(request.createdAt)}`;
  const where = statusLine(request) ?? `:hourglass: Waiting. ${approvalProgress(request)}`;
  return `${head}\n${where}`;
}

export function requestCreatedReply(request: PromotionRequest, approvers: string): string {
  const words = ACTION_WORDS[request.action];
  return [
    `:inbox_tray: Request ${code(request.id)} created: ${words.verb} ${connectionLabel(request)}${request.dryRun ? " (dry run: nothing will change in Auth0)" : ""}.`,
    `Reason: ${escapeMrkdwn(request.reason || "(none given)")}`,
    `${approvers} will decide in <#${request.approvalChannel ?? ""}> (${request.requiredApprovals} approval${request.requiredApprovals === 1 ? "" : "s"} needed, by ${slackDate(request.expiresAt)}). You will get a message here when it is settled; \`${COMMAND} cancel ${request.id}\` withdraws it.`,
  ].join("\n");
}

/** The DM that tells a requester how their request ended. */
export function outcomeDm(request: PromotionRequest): string {
  const words = ACTION_WORDS[request.action];
  const head = `Your request ${code(request.id)} to ${words.verb} ${connectionLabel(request)}${request.dryRun ? " (dry run)" : ""}:`;
  const status = statusLine(request) ?? "is waiting for a decision.";
  const why =
    request.state === "FAILED" && request.outcome
      ? `\nWhy: ${escapeMrkdwn(request.outcome)}`
      : request.state === "DENIED" && request.denyReason
        ? `\nReason given: ${escapeMrkdwn(request.denyReason)}`
        : "";
  return `${head}\n${status}${why}`;
}
