import { isConnectionId, isConnectionName } from "../auth0/validate.js";

export type ConnectionRef = { kind: "id"; id: string } | { kind: "name"; name: string };

export type ParsedCommand =
  | { kind: "help" }
  | { kind: "promote"; connection: ConnectionRef; reason: string }
  | { kind: "invalid"; message: string };

export const MAX_REASON_LENGTH = 1000;

/** Strips one pair of matching quotes (Slack turns "…" into curly quotes as people type). */
function unquote(text: string): string {
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

/**
 * Reads `/promote-connection <con_id | name> [reason]`. Nothing that fails here reaches Auth0:
 * a malformed id or name is answered in words without any request being made.
 */
export function parseCommand(text: string): ParsedCommand {
  const trimmed = text.trim();
  if (trimmed === "" || /^(help|-h|--help|\?)$/i.test(trimmed)) return { kind: "help" };
  const match = /^(\S+)\s*([\s\S]*)$/.exec(trimmed);
  const target = match?.[1] ?? "";
  const reason = unquote(match?.[2] ?? "");
  if (reason.length > MAX_REASON_LENGTH) {
    return {
      kind: "invalid",
      message: `The reason is ${reason.length} characters long; please keep it under ${MAX_REASON_LENGTH}.`,
    };
  }
  const shown = target.length > 60 ? `${target.slice(0, 60)}…` : target;
  if (/^con_/i.test(target)) {
    if (isConnectionId(target))
      return { kind: "promote", connection: { kind: "id", id: target }, reason };
    return {
      kind: "invalid",
      message: `\`${shown.replace(/[`<>&]/g, "")}\` is not a valid connection id: ids look like \`con_\` followed by 16 letters and digits.`,
    };
  }
  if (isConnectionName(target)) {
    return { kind: "promote", connection: { kind: "name", name: target }, reason };
  }
  return {
    kind: "invalid",
    message: `\`${shown.replace(/[`<>&]/g, "")}\` is neither a connection id (\`con_…\`) nor a connection name (letters, digits and dashes).`,
  };
}
