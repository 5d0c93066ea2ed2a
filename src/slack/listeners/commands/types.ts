import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { splitFirst } from "../../command-text.js";
import type { BotDeps } from "../../deps.js";

export type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
export type Reply = (text: string) => Promise<unknown>;

/** Ends a command with a message for the person who typed it. */
export class Refusal extends Error {}

/** What a subcommand runs with. */
export interface CommandContext {
  deps: BotDeps;
  /** The Web API client of the event (Bolt's). */
  client: WebClient;
  userId: string;
  /** The workspace the person acts from. */
  teamId: string;
  /** Answers the person privately, through the command's response URL. */
  reply: Reply;
  /** The subcommands' names, for answers that list them. */
  subcommandNames: readonly string[];
}

/** What reading a command needs besides its words. */
export interface ParseContext {
  /** The tenants' names, in configured order. With several, commands name one first. */
  tenants: readonly string[];
  /** The tenants whose policy asks every request for a reason (REQUIRE_REASON, requireReason). */
  reasonRequiredIn?: readonly string[];
}

/** Why the words after a subcommand could not be read, for the person who typed them. */
export interface Invalid {
  invalid: string;
}

export function isInvalid(value: unknown): value is Invalid {
  return typeof value === "object" && value !== null && "invalid" in value;
}

/**
 * Whom a subcommand serves. "readers": it shows requests, so only people RequestPolicy.mayRead
 * lets read get past the dispatcher; "anyone": it shows nothing of others' requests, or checks
 * the person itself (promote asks mayRequest, cancel serves a request's own requester).
 */
export type Audience = "anyone" | "readers";

/** A subcommand as its own file defines it: how to read its arguments, and what it does. */
export interface SubcommandDefinition<P> {
  name: string;
  audience: Audience;
  /** Its arguments, for usage: "<request id>". Empty when it takes none. */
  args: string;
  /**
   * Whether it takes a tenant before its arguments, shown in usage when there are several:
   * "required" (`promote <tenant> …`), "optional" (`list [tenant]`) or "none".
   */
  tenantWord: "required" | "optional" | "none";
  /** What it does, for help. */
  does: string;
  /** Reads the words after the name. Nothing that fails here reaches Auth0 or Redis. */
  parse(rest: string, ctx: ParseContext): P | Invalid;
  /** The immediate answer (Slack waits 3 s for it), or undefined for an empty one. */
  ack?(parsed: P): string | undefined;
  run(ctx: CommandContext, parsed: P): Promise<void>;
}

/** A typed command, read and ready to run. */
export interface Invocation {
  name: string;
  audience: Audience;
  /** What the subcommand read from the text. */
  args: unknown;
  /** The immediate answer's words, if any. */
  ack: string | undefined;
  run(ctx: CommandContext): Promise<void>;
}

/** A subcommand in the table: the same for every subcommand whatever its arguments. */
export interface Subcommand {
  name: string;
  args: string;
  tenantWord: "required" | "optional" | "none";
  does: string;
  invoke(rest: string, ctx: ParseContext): Invocation | Invalid;
}

export function subcommand<P>(def: SubcommandDefinition<P>): Subcommand {
  return {
    name: def.name,
    args: def.args,
    tenantWord: def.tenantWord,
    does: def.does,
    invoke(rest, ctx) {
      const parsed = def.parse(rest, ctx);
      if (isInvalid(parsed)) return parsed;
      return {
        name: def.name,
        audience: def.audience,
        args: parsed,
        ack: def.ack?.(parsed),
        run: (ctx) => def.run(ctx, parsed),
      };
    },
  };
}

/**
 * The tenant a command names first. With one tenant the word may be left out (a lone word is
 * then the command's own argument, even if it is the tenant's name). With several, a command
 * that names none is answered with their names, before anything reaches Auth0.
 */
export function takeTenant(
  rest: string,
  ctx: ParseContext,
  example: (tenant: string) => string,
): { tenant: string; rest: string } | Invalid {
  const [first, after] = splitFirst(rest);
  if (ctx.tenants.includes(first) && (ctx.tenants.length > 1 || after.trim() !== "")) {
    return { tenant: first, rest: after };
  }
  const [only] = ctx.tenants;
  if (ctx.tenants.length === 1 && only) return { tenant: only, rest };
  const names = ctx.tenants.map((t) => `\`${t}\``).join(", ");
  return {
    invalid: `Which tenant? Name one of ${names} first, for example \`${example(ctx.tenants[0] ?? "dev")}\`.`,
  };
}

/** `list [tenant]`: a tenant when the first word names one, else all of them. */
export function maybeTenant(
  rest: string,
  ctx: ParseContext,
): { tenant: string | undefined; rest: string } {
  const [first, after] = splitFirst(rest);
  return ctx.tenants.includes(first) ? { tenant: first, rest: after } : { tenant: undefined, rest };
}
