import type { KnownBlock } from "@slack/types";
import type { PromotionRequest } from "../../requests/model.js";
import { code, escapeMrkdwn, mrkdwn, plain, slackDate, userMention } from "./text.js";

export type AuditEvent = "requested" | "approved" | "denied" | "refused" | "promoted" | "failed";

const ICONS: Record<AuditEvent, string> = {
  requested: ":inbox_tray:",
  approved: ":ballot_box_with_check:",
  denied: ":no_entry_sign:",
  refused: ":lock:",
  promoted: ":white_check_mark:",
  failed: ":x:",
};

export interface AuditEntry {
  event: AuditEvent;
  request: Pick<PromotionRequest, "id" | "connectionId" | "connectionName">;
  /** Who did it: the requester, the approver, the refused clicker, or the worker (undefined). */
  actorId: string | undefined;
  at: number;
  /** Free text (a reason, an error): shown literally. */
  detail?: string;
}

/**
 * An audit line is a new message, never edited: the channel is the trail. Each names the request
 * id, the connection, who and when, so the channel can be searched by any of them.
 */
export function auditLine(entry: AuditEntry): { text: string; blocks: KnownBlock[] } {
  const { event, request, actorId, at, detail } = entry;
  const who = actorId ? userMention(actorId) : "the worker";
  const summary = `${ICONS[event]} *${event}* ${code(request.id)} · ${code(request.connectionName)} (${code(request.connectionId)}) · by ${who} · ${slackDate(at)}`;
  const blocks: KnownBlock[] = [{ type: "section", text: mrkdwn(summary) }];
  if (detail) blocks.push({ type: "context", elements: [plain(detail, 2000)] });
  const text = `${event} ${request.id} ${request.connectionName} (${request.connectionId}) by ${actorId ? userMention(actorId) : "the worker"}${detail ? `: ${escapeMrkdwn(detail)}` : ""}`;
  return { text, blocks };
}
