/** Reading what people type after /promote-connection. */

export { shown } from "../requests/words.js";

/** Strips one pair of matching quotes (Slack turns "…" into curly quotes as people type). */
export function unquote(text: string): string {
  const t = text.trim();
  const pairs: [string, string][] = [
    ['"', '"'],
    ["“", "”"],
    ["'", "'"],
    ["‘", "’"],
  ];
  for (const [open, close] of pairs) {
    if (t.length >= 2 && t.startsWith(open) && t.endsWith(close)) return t.slice(1, -1).trim();
  }
  return t;
}

/** The first word and the rest. */
export function splitFirst(text: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text.trim());
  return [match?.[1] ?? "", match?.[2] ?? ""];
}
