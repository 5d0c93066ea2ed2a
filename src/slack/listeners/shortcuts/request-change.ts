import type { AllMiddlewareArgs, GlobalShortcut, SlackShortcutMiddlewareArgs } from "@slack/bolt";
import type { BotDeps } from "../../deps.js";
import { tellUser } from "../actions/decide.js";
import { openRequestForm } from "../views/request-form.js";

export type GlobalShortcutArgs = SlackShortcutMiddlewareArgs<GlobalShortcut> & AllMiddlewareArgs;

/**
 * The global shortcut "Request a change" (manifest.json): acks, then opens the request form with
 * the shortcut's trigger. A global shortcut has no channel and no response URL: anything to say
 * goes by direct message.
 */
export function requestChangeShortcut(deps: BotDeps) {
  return async ({ ack, body, client }: GlobalShortcutArgs): Promise<void> => {
    await ack();
    const userId = body.user.id;
    await openRequestForm(deps, client, {
      triggerId: body.trigger_id,
      userId,
      picks: {},
      tell: (text) => tellUser(client, userId, text),
    });
  };
}
