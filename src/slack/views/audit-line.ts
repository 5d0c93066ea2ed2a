import type { KnownBlock } from "@slack/types";
import type { PromotionRequest } from "../../requests/model.js";
import { code, escapeMrkdwn, mrkdwn, plain, slackDate, userMention } from "./text.js";

export type AuditEvent =
  | "requested"
  | "approval"
  | "approved"
  | "denied"
  | "refused"
  | "cancelled"
  | "expired"
  | "promoted"
  | "demoted"
  | "dry-run"
  | "failed";

const ICONS: Record<AuditEvent, string> = {
  requested: ":inbox_tray:",
  approval: ":heavy_plus_sign:",
  approved: ":ballot_box_with_check:",
  denied: ":no_entry_sign:",
  refused: ":lock:",
  cancelled: ":leftwards_arrow_with_hook:",
  expired: ":alarm_clock:",
  promoted: ":white_check_mark:",
  demoted: ":white_check_mark:",
  "dry-run": ":test_tube:",
  failed: ":x:",
};

export type AuditSubject = Pick<
  PromotionRequest,
  "id" | "connectionId" | "connectionName" | "action" | "dryRun"
>;

export interface AuditEntry {
  event: AuditEvent;
  request: AuditSubject;
  /** Who did it: the requester, the approver, the refused clicker, or the bot (undefined). */
  actorId: string | undefined;
  at: number;
  /** Free text (a reason, an error): shown literally. */
  detail?: string;
}

/**
 * An audit line is a new message, never edited: the channel is the trail. Each names the request
 * id, the change, the connection, who and when, so the channel can be searched by any of them.
 */
export function auditLine(entry: AuditEntry): { text: string; blocks: KnownBlock[] } {
  const { event, request, actorId, at, detail } = entry;
  const who = actorId ? userMention(actorId) : "the bot";
  const dry = request.dryRun ? " · *dry run*" : "";
  const summary = `${ICONS[event]} *${event}* ${code(request.id)} · ${request.action} ${code(request.connectionName)} (${code(request.connectionId)}) · by ${who} · ${slackDate(at)}${dry}`;
  const blocks: KnownBlock[] = [{ type: "section", text: mrkdwn(summary) }];
  if (detail) blocks.push({ type: "context", elements: [plain(detail, 2000)] });
  const text = `${event} ${request.id} ${request.action} ${request.connectionName} (${request.connectionId}) by ${who}${request.dryRun ? " [dry run]" : ""}${detail ? `: ${escapeMrkdwn(detail)}` : ""}`;
  return { text, blocks };
}
