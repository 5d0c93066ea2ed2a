/** Short descriptions of what the Slack emulator saw, for the messages of waits that time out. */
import type { SlackCall } from "./types.js";

/** `value` as text (JSON unless a string), cut at `max` characters. */
export function short(value: unknown, max = 80): string {
  const s = typeof value === "string" ? value : JSON.stringify(value);
  if (s === undefined) return "undefined";
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export function describeCall(call: SlackCall): string {
  const parts = Object.entries(call.args)
    .filter(([k]) => k !== "token")
    .map(([k, v]) => `${k}=${short(v, k === "blocks" ? 60 : 80)}`);
  return `${call.method}${call.injected ? " [injected fault]" : ""}(${parts.join(", ")})`;
}
