import type { AnyMiddlewareArgs, Middleware } from "@slack/bolt";
import type { BotDeps } from "../../deps.js";
import { refuse } from "./refuse.js";

export const FOREIGN_WORKSPACE_REFUSAL =
  ":no_entry: This bot serves another workspace; requests and approvals from yours are refused. Nothing was done.";

export const UNKNOWN_WORKSPACE_REFUSAL =
  ":no_entry: This bot cannot tell which workspace you belong to, and it serves only some; your request was refused. Nothing was done.";

const nonEmpty = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/**
 * The acting person's own workspace and enterprise ids, and nothing else of the payload:
 * - a slash command: its `team_id` and `enterprise_id`, the workspace (and organization) it was
 *   typed from;
 * - an interaction (click, modal submission): `user.team_id` only, the clicker's own workspace
 *   (an organization's E… id in an Enterprise organization). In a Slack Connect channel `team.id`,
 *   `enterprise` and the view's ids name the channel's host, not the person, so they are ignored;
 * - an event (App Home opened): the envelope's `team_id` and `enterprise_id`.
 * Empty when the payload does not say.
 */
export function actorWorkspace(body: unknown): string[] {
  const b = body as {
    type?: string;
    command?: string;
    team_id?: unknown;
    enterprise_id?: unknown;
    user?: unknown;
  };
  if (typeof b.command === "string" || b.type === "event_callback") {
    return [b.team_id, b.enterprise_id].filter(nonEmpty);
  }
  if (typeof b.user === "object" && b.user !== null) {
    return [(b.user as { team_id?: unknown }).team_id].filter(nonEmpty);
  }
  return [];
}

/**
 * ALLOWED_TEAM_IDS: a command, click, modal submission or event is served only when the person
 * acting belongs to a listed workspace or enterprise (see actorWorkspace). Anyone else, and any
 * payload that does not say where its person belongs, is refused in words before any listener
 * runs: no Redis, Auth0 or Slack work is done for them.
 */
export function allowedTeams(deps: BotDeps): Middleware<AnyMiddlewareArgs> {
  const allowed = new Set(deps.config.policy.allowedTeamIds);
  return async (args) => {
    if (allowed.size === 0) {
      await args.next();
      return;
    }
    const origin = actorWorkspace(args.body);
    if (origin.some((id) => allowed.has(id))) {
      await args.next();
      return;
    }
    deps.logger.warn({ origin }, "refused a request from a workspace that is not allowed");
    await refuse(args, origin.length === 0 ? UNKNOWN_WORKSPACE_REFUSAL : FOREIGN_WORKSPACE_REFUSAL);
  };
}
