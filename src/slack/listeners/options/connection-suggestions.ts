import type { AllMiddlewareArgs, SlackOptionsMiddlewareArgs } from "@slack/bolt";
import { errorInWords } from "../../../error-words.js";
import type { BotDeps } from "../../deps.js";
import { connectionOptions } from "../../views/connection-options.js";
import { tenantOfConnectionBlock } from "../../views/request-modal.js";
import { formPicks } from "../views/request-form.js";

export type SuggestionArgs = SlackOptionsMiddlewareArgs<"block_suggestion"> & AllMiddlewareArgs;

/**
 * Slack waits 3 s for the options, the way there and back included; the list gets half of that.
 * A tenant that takes longer to list answers with what there is, and the next keystroke gets more.
 */
const LIST_DEADLINE_MS = 1_500;

/**
 * The connection picker's type-ahead (block_suggestion): the tenant's connections matching what
 * was typed, from the fleet's list of the last minute (Auth0 is asked only when it is older). The
 * answer is the ack itself, so the work comes first here, bounded well inside Slack's 3 s; any
 * failure answers with no options rather than none at all.
 */
export function connectionSuggestions(deps: BotDeps) {
  return async ({ ack, body }: SuggestionArgs): Promise<void> => {
    const userId = body.user.id;
    const log = deps.logger.child({ handler: "connection-suggestions", user: userId });
    try {
      // Who may not ask sees no connections: the names are the tenant's, not everyone's.
      const may = await deps.policy.mayRequest(userId);
      const picks = formPicks(body.view);
      const tenant = tenantOfConnectionBlock(body.block_id) ?? picks.tenant;
      const list = tenant === undefined ? undefined : deps.connectionLists.get(tenant);
      if (!may.allowed || !list) {
        await ack({ options: [] });
        return;
      }
      const snapshot = await list.snapshot(LIST_DEADLINE_MS);
      await ack(
        connectionOptions(snapshot.connections, body.value ?? "", picks.action ?? "promote", {
          complete: snapshot.complete,
        }),
      );
    } catch (err) {
      log.error({ err: errorInWords(err) }, "could not suggest connections");
      await ack({ options: [] });
    }
  };
}
