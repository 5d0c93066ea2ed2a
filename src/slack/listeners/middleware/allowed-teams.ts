import type { AnyMiddlewareArgs, Middleware } from "@slack/bolt";
import type { BotDeps } from "../../deps.js";

export const FOREIGN_WORKSPACE_REFUSAL =
  ":no_entry: This bot serves another workspace; requests and approvals from here are refused.";

/** The workspace and enterprise ids a Slack payload comes from, wherever its type keeps them. */
export function payloadOrigin(body: unknown): string[] {
  const b = body as {
    team_id?: string;
    enterprise_id?: string;
    team?: { id?: string; enterprise_id?: string } | null;
    enterprise?: { id?: string } | null;
    user?: { team_id?: string };
  };
  return [
    b.team_id,
    b.enterprise_id,
    b.team?.id,
    b.team?.enterprise_id,
    b.enterprise?.id,
    b.user?.team_id,
  ].filter((v): v is string => typeof v === "string" && v.length > 0);
}

/** Does this payload come from a workspace ALLOWED_TEAM_IDS lets in (all, when it is empty)? */
export function fromAllowedWorkspace(deps: BotDeps): (body: unknown) => boolean {
  const allowed = new Set(deps.config.policy.allowedTeamIds);
  return (body) => allowed.size === 0 || payloadOrigin(body).some((id) => allowed.has(id));
}

/**
 * ALLOWED_TEAM_IDS: commands, clicks and modal submissions from any other workspace (or
 * enterprise) are answered with a refusal and go no further.
 */
export function allowedTeams(deps: BotDeps): Middleware<AnyMiddlewareArgs> {
  const fromAllowed = fromAllowedWorkspace(deps);
  return async (args) => {
    if (fromAllowed(args.body)) {
      await args.next();
      return;
    }
    deps.logger.warn(
      { origin: payloadOrigin(args.body) },
      "refused a request from a workspace that is not allowed",
    );
    const ack = "ack" in args ? (args.ack as (response?: unknown) => Promise<void>) : undefined;
    const body = args.body as { type?: string; command?: string; response_url?: string };
    if (body.command) {
      await ack?.({ response_type: "ephemeral", text: FOREIGN_WORKSPACE_REFUSAL });
      return;
    }
    await ack?.();
    if ("respond" in args && body.response_url && typeof args.respond === "function") {
      await args.respond({
        response_type: "ephemeral",
        replace_original: false,
        text: FOREIGN_WORKSPACE_REFUSAL,
      });
    }
  };
}
