import { isConnectionId, isConnectionName } from "../auth0/validate.js";
import { isRequestId, type RequestAction } from "../requests/model.js";

export type ConnectionRef = { kind: "id"; id: string } | { kind: "name"; name: string };

export type ParsedCommand =
  | { kind: "help" }
  | { kind: "change"; action: RequestAction; connection: ConnectionRef; reason: string }
  | { kind: "status"; target: { kind: "request"; id: string } | ConnectionRef }
  | { kind: "list" }
  | { kind: "cancel"; requestId: string }
  | { kind: "history"; connection: ConnectionRef | undefined }
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

/** Shows a typed word back safely: short, without characters that would format or link. */
function shown(word: string): string {
  const short = word.length > 60 ? `${word.slice(0, 60)}…` : word;
  return `\`${short.replace(/[`<>&*_~]/g, "")}\``;
}

function connectionRef(word: string): ConnectionRef | { invalid: string } {
  if (/^con_/i.test(word)) {
    if (isConnectionId(word)) return { kind: "id", id: word };
    return {
      invalid: `${shown(word)} is not a valid connection id: ids look like \`con_\` followed by 16 letters and digits.`,
    };
  }
  if (isConnectionName(word)) return { kind: "name", name: word };
  return {
    invalid: `${shown(word)} is neither a connection id (\`con_…\`) nor a connection name (letters, digits and dashes).`,
  };
}

function splitFirst(text: string): [string, string] {
  const match = /^(\S+)\s*([\s\S]*)$/.exec(text.trim());
  return [match?.[1] ?? "", match?.[2] ?? ""];
}

const SUBCOMMANDS = new Set(["promote", "demote", "status", "list", "cancel", "history", "help"]);

function parseChange(action: RequestAction, rest: string): ParsedCommand {
  const [target, tail] = splitFirst(rest);
  if (!target) return { kind: "invalid", message: `\`${action}\` needs a connection id or name.` };
  const reason = unquote(tail);
  if (reason.length > MAX_REASON_LENGTH) {
    return {
      kind: "invalid",
      message: `The reason is ${reason.length} characters long; please keep it under ${MAX_REASON_LENGTH}.`,
    };
  }
  const ref = connectionRef(target);
  if ("invalid" in ref) return { kind: "invalid", message: ref.invalid };
  return { kind: "change", action, connection: ref, reason };
}

/**
 * Reads `/promote-connection …`. Nothing that fails here reaches Auth0: a malformed id or name is
 * answered in words without any request being made. A bare connection means `promote` (a
 * connection named like a subcommand is reached with `promote <name>`).
 */
export function parseCommand(text: string): ParsedCommand {
  const trimmed = text.trim();
  if (trimmed === "" || /^(help|-h|--help|\?)$/i.test(trimmed)) return { kind: "help" };
  const [first, rest] = splitFirst(trimmed);
  const word = first.toLowerCase();
  if (!SUBCOMMANDS.has(word)) return parseChange("promote", trimmed);
  const args = rest.trim();
  switch (word) {
    case "promote":
    case "demote":
      return parseChange(word, args);
    case "list":
      return args ? { kind: "invalid", message: "`list` takes no arguments." } : { kind: "list" };
    case "cancel": {
      const [id, extra] = splitFirst(args);
      if (!isRequestId(id) || extra) {
        return {
          kind: "invalid",
          message: `\`cancel\` needs one request id such as \`req_7k3m9qxa2b\`${id ? `, not ${shown(args)}` : ""}.`,
        };
      }
      return { kind: "cancel", requestId: id };
    }
    case "status": {
      const [target, extra] = splitFirst(args);
      if (!target || extra) {
        return { kind: "invalid", message: "`status` needs one request id or connection." };
      }
      if (isRequestId(target)) return { kind: "status", target: { kind: "request", id: target } };
      const ref = connectionRef(target);
      if ("invalid" in ref) return { kind: "invalid", message: ref.invalid };
      return { kind: "status", target: ref };
    }
    case "history": {
      const [target, extra] = splitFirst(args);
      if (extra) return { kind: "invalid", message: "`history` takes at most one connection." };
      if (!target) return { kind: "history", connection: undefined };
      const ref = connectionRef(target);
      if ("invalid" in ref) return { kind: "invalid", message: ref.invalid };
      return { kind: "history", connection: ref };
    }
    default:
      return { kind: "help" };
  }
}
