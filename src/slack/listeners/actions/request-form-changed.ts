import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from "@slack/bolt";
import type { BotDeps } from "../../deps.js";
import { requestModal } from "../../views/request-modal.js";
import { formInput, formPicks } from "../views/request-form.js";

export type FormSelectArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/**
 * A tenant or a change was picked in the request form: it is drawn again for that pick (the
 * connection picker for that tenant, or none for a change to the tenant itself; the reason
 * required or not by that tenant's policy). What was typed in fields kept from one drawing to
 * the next stays. A drawing overtaken by a newer one (hash_conflict) is left alone.
 */
export function requestFormChanged(deps: BotDeps) {
  return async ({ ack, body, client }: FormSelectArgs): Promise<void> => {
    await ack();
    const view = body.view;
    if (!view) return;
    const log = deps.logger.child({ handler: "request-form-changed", user: body.user.id });
    try {
      await client.views.update({
        view_id: view.id,
        hash: view.hash,
        view: requestModal(formInput(deps, formPicks(view))),
      });
    } catch (err) {
      const slackError = (err as { data?: { error?: string } }).data?.error;
      if (slackError === "hash_conflict") return;
      log.warn({ err }, "could not redraw the request form");
    }
  };
}
