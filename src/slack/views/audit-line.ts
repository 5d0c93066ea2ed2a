import type { KnownBlock } from "@slack/types";
import { type AuditEvent, type AuditRecord, auditDetail } from "../../requests/audit-log.js";
import { changeKind } from "../../requests/changes/index.js";
import { code, escapeMrkdwn, mrkdwn, plain, slackDate, userMention } from "./text.js";

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
  "dcr-enabled": ":white_check_mark:",
  "dcr-disabled": ":white_check_mark:",
  "dry-run": ":test_tube:",
  failed: ":x:",
  "outcome-unknown": ":grey_question:",
};

/**
 * An audit line is a new message, never edited: the channel is the trail. Each names the request
 * id, the change, the target, who and when, so the channel can be searched by any of them.
 */
export function auditLine(record: AuditRecord): { text: string; blocks: KnownBlock[] } {
  const { event, requestId, action, targetId, targetName, actorId, at, tenant } = record;
  const detail = auditDetail(record);
  const who = actorId ? userMention(actorId) : "the bot";
  const dry = record.dryRun ? " · *dry run*" : "";
  // A change of the tenant itself (its DCR flag) has no other target to name.
  const ofTenant = changeKind(record.kind).targetIsTenant === true;
  const target = ofTenant ? "" : ` ${code(targetName)} (${code(targetId)})`;
  const targetText = ofTenant ? "" : ` ${targetName} (${targetId})`;
  const summary = `${ICONS[event] ?? ":memo:"} *${event}* ${code(requestId)} · ${action}${target} in ${tenant} · by ${who} · ${slackDate(at)}${dry}`;
  const blocks: KnownBlock[] = [{ type: "section", text: mrkdwn(summary) }];
  if (detail) blocks.push({ type: "context", elements: [plain(detail, 2000)] });
  const text = `${event} ${requestId} ${action}${targetText} in ${tenant} by ${who}${record.dryRun ? " [dry run]" : ""}${detail ? `: ${escapeMrkdwn(detail)}` : ""}`;
  return { text, blocks };
}
