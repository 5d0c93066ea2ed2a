import { CHANGE_KINDS, kindOfAction } from "../../../requests/changes/index.js";
import { splitFirst } from "../../command-text.js";
import { COMMAND } from "../../views/replies.js";
import { isChangeAction, type RequestModalMetadata } from "../../views/request-modal.js";
import { cancel } from "./cancel.js";
import { changeSubcommand } from "./change.js";
import { history } from "./history.js";
import { list } from "./list.js";
import { status } from "./status.js";
import {
  type Invalid,
  type Invocation,
  isInvalid,
  type ParseContext,
  type Subcommand,
  subcommand,
} from "./types.js";

/** `help`: the usage, all of it in the immediate answer. */
const help = subcommand<{ tenants: readonly string[] }>({
  name: "help",
  audience: "anyone",
  args: "",
  tenantWord: "none",
  does: "this text",
  parse: (_, ctx) => ({ tenants: ctx.tenants }),
  ack: ({ tenants }) => usage({ tenants }),
  async run() {},
});

/**
 * Every subcommand, in the order help lists them. The parser, help, the immediate answers and
 * the dispatch all come from this list: a new subcommand is a new file and a line here.
 */
export const SUBCOMMANDS: readonly Subcommand[] = [
  ...Object.values(CHANGE_KINDS).flatMap((kind) =>
    kind.actions.map((action) => changeSubcommand(kind, action)),
  ),
  status,
  list,
  cancel,
  history,
  help,
];

/** A bare connection means this subcommand (`/promote-connection acme-db`). */
const DEFAULT_SUBCOMMAND = "promote";

export const SUBCOMMAND_NAMES = SUBCOMMANDS.map((s) => s.name);

function find(name: string): Subcommand | undefined {
  return SUBCOMMANDS.find((s) => s.name === name);
}

/** The usage; with several tenants, where the tenant goes and which there are. */
export function usage(ctx: ParseContext): string {
  const several = ctx.tenants.length > 1;
  const tenantArg = (s: Subcommand) =>
    !several || s.tenantWord === "none"
      ? ""
      : s.tenantWord === "required"
        ? "<tenant> "
        : "[tenant] ";
  const args = (s: Subcommand) => `${tenantArg(s)}${s.args}`.trim();
  const line = (s: Subcommand) =>
    s.name === DEFAULT_SUBCOMMAND
      ? `• \`${COMMAND} ${args(s)}\`: ${s.does} (same as \`${s.name} …\`)`
      : `• \`${COMMAND} ${s.name}${args(s) ? ` ${args(s)}` : ""}\`: ${s.does}`;
  const example = several ? `${ctx.tenants[0]} ` : "";
  return [
    `*${COMMAND}* asks for an Auth0 connection to be made domain-level (or no longer), after an approver agrees.`,
    ...(several ? [`Tenants: ${ctx.tenants.map((t) => `\`${t}\``).join(", ")}`] : []),
    "",
    `• \`${COMMAND}\` alone (or the shortcut "Request a change"): a form that finds the connection for you`,
    ...SUBCOMMANDS.map(line),
    "",
    `Example: \`${COMMAND} ${example}con_A1b2C3d4E5f6G7h8 "onboarding Acme"\``,
  ].join("\n");
}

/**
 * Reads `/promote-connection …`. Nothing that fails here reaches Auth0: a malformed id or name, or
 * a missing tenant when there are several, is answered in words without any request being made. A
 * bare connection means `promote` (a connection named like a subcommand is reached with
 * `promote <name>`).
 */
export function parseCommand(text: string, ctx: ParseContext): Invocation | Invalid {
  const trimmed = text.trim();
  if (/^(help|-h|--help|\?)$/i.test(trimmed)) return help.invoke("", ctx);
  const [first, rest] = splitFirst(trimmed);
  const named = find(first.toLowerCase());
  if (named) return named.invoke(rest.trim(), ctx);
  return (find(DEFAULT_SUBCOMMAND) as Subcommand).invoke(trimmed, ctx);
}

/**
 * A command that names no target opens the request form instead, with what it did name picked:
 * nothing at all, a change (`demote`), a tenant when there are several (`prod`), or both. A change
 * to the tenant itself with its tenant named (or the only one) is a whole command, not a form.
 */
export function requestFormFor(text: string, ctx: ParseContext): RequestModalMetadata | undefined {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length > 2) return undefined;
  const picks: RequestModalMetadata = {};
  for (const word of words) {
    const lower = word.toLowerCase();
    if (!picks.action && isChangeAction(lower)) picks.action = lower;
    else if (!picks.tenant && ctx.tenants.length > 1 && ctx.tenants.includes(word)) {
      picks.tenant = word;
    } else return undefined;
  }
  const tenantKnown = picks.tenant !== undefined || ctx.tenants.length === 1;
  if (picks.action && kindOfAction(picks.action).targetIsTenant && tenantKnown) return undefined;
  return picks;
}

/** The immediate answer to a command: the whole answer for help and bad input. */
export function commandAck(parsed: Invocation | Invalid, ctx: ParseContext): string | undefined {
  if (isInvalid(parsed)) return `:warning: ${parsed.invalid}\n\n${usage(ctx)}`;
  return parsed.ack;
}
