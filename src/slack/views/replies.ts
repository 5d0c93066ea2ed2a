import type { PromotionRequest } from "../../requests/model.js";
import { connectionLabel, statusLine } from "./approval-message.js";
import { code, escapeMrkdwn } from "./text.js";

export const COMMAND = "/promote-connection";

export function usage(): string {
  return [
    `*${COMMAND}* asks for a connection to be promoted to domain level, after an approver agrees.`,
    "",
    `• \`${COMMAND} con_XXXXXXXXXXXXXXXX [reason]\`: by connection id`,
    `• \`${COMMAND} <connection-name> [reason]\`: by connection name`,
    `• \`${COMMAND} help\`: this text`,
    "",
    `Example: \`${COMMAND} con_A1b2C3d4E5f6G7h8 "onboarding Acme"\``,
  ].join("\n");
}

export function requestCreatedReply(request: PromotionRequest, approvers: string): string {
  return [
    `:inbox_tray: Request ${code(request.id)} created: promote ${connectionLabel(request)} to domain level.`,
    `Reason: ${escapeMrkdwn(request.reason || "(none given)")}`,
    `${approvers} will decide in <#${request.approvalChannel ?? ""}>. You will get a message here when it is done.`,
  ].join("\n");
}

/** The DM that tells a requester how their request ended. */
export function outcomeDm(request: PromotionRequest): string {
  const head = `Your request ${code(request.id)} to promote ${connectionLabel(request)}:`;
  const status = statusLine(request) ?? "is waiting for a decision.";
  const why =
    request.state === "FAILED" && request.outcome ? `\nWhy: ${escapeMrkdwn(request.outcome)}` : "";
  return `${head}\n${status}${why}`;
}
