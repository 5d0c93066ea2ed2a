import { wordsOf } from "../../requests/changes/index.js";
import type { ChangeRequest } from "../../requests/model.js";
import { targetLabel, tenantOf } from "./approval-message.js";
import { code, slackDate, userMention } from "./text.js";

/** Who a reminder names: user ids, and a user group mentioned as a group. */
export interface Reminded {
  userIds: readonly string[];
  usergroupId: string | undefined;
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;

/** "about 12 hours": how long is left, roughly, in the largest unit that reads well. */
export function roughly(ms: number): string {
  const minutes = ms / 60_000;
  if (minutes >= 48 * 60) return plural(Math.round(minutes / 1440), "day");
  if (minutes >= 120) return plural(Math.round(minutes / 60), "hour");
  if (minutes >= 2) return plural(Math.round(minutes), "minute");
  return plural(Math.max(1, Math.round(ms / 1000)), "second");
}

/**
 * The reminder posted in the approval message's thread: it names who could still approve (user
 * mentions, or the user group's mention, never @channel or @here), how many approvals are still
 * needed and how long is left. Undefined when nobody could approve it: then nobody is reminded.
 */
export function reminderText(
  request: ChangeRequest,
  whom: Reminded,
  now: number,
): string | undefined {
  const mentions = whom.userIds.filter((id) => /^[UW][A-Z0-9]+$/.test(id)).map(userMention);
  if (whom.usergroupId && /^S[A-Z0-9]+$/.test(whom.usergroupId)) {
    mentions.push(`<!subteam^${whom.usergroupId}>`);
  }
  if (mentions.length === 0) return undefined;
  const words = wordsOf(request);
  const left = Math.max(1, request.requiredApprovals - request.approvals.length);
  return (
    `:bell: Reminder for ${mentions.join(", ")}: request ${code(request.id)} to *${words.verb}* ` +
    `${targetLabel(request)} in *${tenantOf(request)}* still needs ${plural(left, "more approval")}. ` +
    `It expires ${slackDate(request.expiresAt)}, in about ${roughly(request.expiresAt - now)}.`
  );
}
