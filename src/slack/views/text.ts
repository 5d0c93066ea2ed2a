/**
 * Text helpers for Slack messages. Anything a person typed (a reason, a name) or that Auth0 holds
 * (a display name) is untrusted: in blocks it goes into plain_text objects, which Slack renders
 * literally; where it must sit inside mrkdwn (notification text), it goes through escapeMrkdwn.
 */

export { code } from "../../requests/words.js";

/** Neutralises control sequences (<!channel>, <@U…>, links) and bare @channel/@here/@everyone. */
export function escapeMrkdwn(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/@(channel|here|everyone)\b/gi, "@\u200b$1")
    .replace(/[*_~`]/g, (c) => `\u200b${c}\u200b`);
}

/** Shortens to Slack's limits, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A plain_text object: Slack shows it literally, no mentions, links or formatting. */
export function plain(text: string, max = 3000) {
  return { type: "plain_text" as const, text: truncate(text || " ", max), emoji: false };
}

export function mrkdwn(text: string, max = 3000) {
  return { type: "mrkdwn" as const, text: truncate(text, max) };
}

/** Slack's date formatting token: each reader sees the time in their own zone. */
export function slackDate(epochMs: number): string {
  const sec = Math.floor(epochMs / 1000);
  const fallback = new Date(epochMs).toISOString().replace("T", " ").slice(0, 16);
  return `<!date^${sec}^{date_short_pretty} at {time}|${fallback} UTC>`;
}

/** A time of day in each reader's own zone ("14:05"), for times within the day. */
export function slackTime(epochMs: number): string {
  const sec = Math.floor(epochMs / 1000);
  const fallback = new Date(epochMs).toISOString().slice(11, 16);
  return `<!date^${sec}^{time}|${fallback} UTC>`;
}

export function userMention(userId: string): string {
  // Ids come from Slack's signed payloads or our own config; keep them to their alphabet anyway.
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escapeMrkdwn(userId);
}
