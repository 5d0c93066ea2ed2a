import type { AnyMiddlewareArgs, Middleware } from "@slack/bolt";
import type { BotDeps } from "../../deps.js";

const REFUSAL =
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

/**
 * ALLOWED_TEAM_IDS: commands, clicks and modal submissions from any other workspace (or
 * enterprise) are answered with a refusal and go no further.
 */
export function allowedTeams(deps: BotDeps): Middleware<AnyMiddlewareArgs> {
  const allowed = new Set(deps.config.policy.allowedTeamIds);
  return async (args) => {
    if (allowed.size === 0 || payloadOrigin(args.body).some((id) => allowed.has(id))) {
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
      await ack?.({ response_type: "ephemeral", text: REFUSAL });
      return;
    }
    await ack?.();
    if ("respond" in args && body.response_url && typeof args.respond === "function") {
      await args.respond({ response_type: "ephemeral", replace_original: false, text: REFUSAL });
    }
  };
}
