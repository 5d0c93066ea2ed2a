import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from "@slack/bolt";
import type { BotDeps } from "../../deps.js";

/**
 * The bot was invited (back) into the audit channel: audit lines held while it was out go now,
 * in order, rather than at the relay's next try.
 */
export function memberJoinedChannel(deps: BotDeps) {
  return async ({
    event,
    context,
  }: SlackEventMiddlewareArgs<"member_joined_channel"> & AllMiddlewareArgs) => {
    if (event.channel !== deps.config.slack.auditChannelId) return;
    if (context.botUserId && event.user !== context.botUserId) return;
    deps.logger.info({ channel: event.channel }, "the bot joined the audit channel");
    deps.auditChannelJoined?.();
  };
}
