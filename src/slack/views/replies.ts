import { wordsOf } from "../../requests/changes/index.js";
import type { ChangeRequest } from "../../requests/model.js";
import {
  approvalProgress,
  impactLine,
  statusLine,
  targetLabel,
  tenantOf,
} from "./approval-message.js";
import { code, escapeMrkdwn, slackDate } from "./text.js";

export const COMMAND = "/promote-connection";

/** A request in one or two lines, for status, list and App Home. */
export function requestSummary(request: ChangeRequest): string {
  const words = wordsOf(request);
  const head = `${code(request.id)} ${request.dryRun ? "[dry run] " : ""}*${words.verb}* ${targetLabel(request)} in ${request.tenant}, asked by <@${request.requesterId}> ${slackDate(request.createdAt)}`;
  const where = statusLine(request) ?? `:hourglass: Waiting. ${approvalProgress(request)}`;
  const impact = impactLine(request);
  return `${head}\n${where}${impact ? `\n${impact}` : ""}`;
}

/** Someone who may not see requests asked to (status, list, history, App Home). */
export function cannotSeeRequests(why: string): string {
  return `:lock: You cannot see requests: ${why}. Ask one of them if you need to know.`;
}

export function requestCreatedReply(request: ChangeRequest, approvers: string): string {
  const words = wordsOf(request);
  return [
    `:inbox_tray: Request ${code(request.id)} created: ${words.verb} ${targetLabel(request)} in ${tenantOf(request)}${request.dryRun ? " (dry run: nothing will change in Auth0)" : ""}.`,
    `Reason: ${escapeMrkdwn(request.reason || "(none given)")}`,
    `${approvers} will decide in <#${request.approvalChannel ?? ""}> (${request.requiredApprovals} approval${request.requiredApprovals === 1 ? "" : "s"} needed, by ${slackDate(request.expiresAt)}). You will get a message here when it is settled; \`${COMMAND} cancel ${request.id}\` withdraws it.`,
  ].join("\n");
}

/** The DM that tells a requester how their request ended. */
export function outcomeDm(request: ChangeRequest): string {
  const words = wordsOf(request);
  const head = `Your request ${code(request.id)} to ${words.verb} ${targetLabel(request)} in ${tenantOf(request)}${request.dryRun ? " (dry run)" : ""}:`;
  const status = statusLine(request) ?? "is waiting for a decision.";
  const why =
    (request.state === "FAILED" || request.state === "UNKNOWN") && request.outcome
      ? `\nWhy: ${escapeMrkdwn(request.outcome)}`
      : request.state === "DENIED" && request.denyReason
        ? `\nReason given: ${escapeMrkdwn(request.denyReason)}`
        : "";
  return `${head}\n${status}${why}`;
}
