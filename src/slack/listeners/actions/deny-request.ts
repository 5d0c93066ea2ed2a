import { errorInWords } from "../../../error-words.js";
import type { BotDeps } from "../../deps.js";
import { denyModal } from "../../views/deny-modal.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { type ButtonArgs, checkDecision, teller } from "./decide.js";

/**
 * Deny: after the same checks as Approve, opens a modal asking for a reason. The denial itself
 * happens on submission, where the checks run again (the modal may be submitted much later).
 */
export function denyRequest(deps: BotDeps) {
  return async (args: ButtonArgs): Promise<void> => {
    const request = await checkDecision(deps, args, "deny");
    if (!request) return;
    try {
      await args.client.views.open({ trigger_id: args.body.trigger_id, view: denyModal(request) });
    } catch (err) {
      deps.logger.error({ err }, "could not open the deny dialog");
      await teller(args)(
        `:warning: Could not open the dialog to deny ${code(request.id)} (${escapeMrkdwn(errorInWords(err))}); please click Deny again.`,
      );
    }
  };
}
