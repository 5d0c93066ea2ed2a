/**
 * Inline words shared by the domain's messages and the Slack views. Markup is limited to what
 * reads the same in Slack's mrkdwn and in plain text: backticks and *bold*.
 */

/** Inline code for our own identifiers (request ids, validated connection ids and names). */
export function code(text: string): string {
  return `\`${text.replace(/[`<>&]/g, "")}\``;
}

/** Shows a typed word back safely: short, without characters that would format or link. */
export function shown(word: string): string {
  const short = word.length > 60 ? `${word.slice(0, 60)}…` : word;
  return `\`${short.replace(/[`<>&*_~]/g, "")}\``;
}
