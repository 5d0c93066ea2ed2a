import { errorInWords } from "../../../error-words.js";
import { isRequestId } from "../../../requests/model.js";
import { revertOf, revertReason } from "../../../requests/revert.js";
import type { BotDeps } from "../../deps.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { requestChange } from "../commands/change.js";
import { SUBCOMMAND_NAMES } from "../commands/subcommands.js";
import { Refusal } from "../commands/types.js";
import { auditRefusal, type ButtonArgs, teller } from "./decide.js";

/**
 * "Request revert", on the message of a change carried out: files the opposite change (demote
 * after promote, …) of the same target, on behalf of whoever clicks, through the same policy and
 * approval as the command would. The message shows the button only when there is something to
 * revert; the click is checked again here, whatever the message showed.
 */
export function requestRevert(deps: BotDeps) {
  return async (args: ButtonArgs): Promise<void> => {
    await args.ack();
    const tell = teller(args);
    const userId = args.body.user.id;
    const sourceId = args.action.value ?? "";
    const log = deps.logger.child({ handler: "request-revert", user: userId });
    try {
      const source = isRequestId(sourceId) ? await deps.store.get(sourceId) : undefined;
      if (!source) {
        await tell(":warning: This button does not belong to a request this bot knows.");
        return;
      }
      // Who may ask first, as for every click on a request: a refusal is audited on it.
      const may = await deps.policy.mayRequest(userId);
      if (!may.allowed) {
        log.warn({ why: may.why, requestId: source.id }, "refused revert click");
        await auditRefusal(deps, source, userId, `revert refused: ${may.why}`);
        await tell(
          `:lock: You cannot ask to revert request ${code(source.id)}: ${may.why}. Nothing was requested.`,
        );
        return;
      }
      const revert = revertOf(source);
      if (!revert.ok) {
        await tell(`:information_source: ${revert.why} Nothing was requested.`);
        return;
      }
      // Duplicates, the person's open-request limit, "already so" (reverted by hand) and the
      // approval itself are requestChange's, as for the command.
      await requestChange(
        {
          deps,
          client: args.client,
          userId,
          teamId: args.body.user.team_id ?? args.body.team?.id ?? "",
          reply: tell,
          subcommandNames: SUBCOMMAND_NAMES,
        },
        revert.kind,
        revert.action,
        {
          tenant: source.tenant,
          target: { kind: "id", id: revert.kind.targetIsTenant ? source.tenant : source.target.id },
          reason: revertReason(source),
        },
      );
    } catch (err) {
      if (err instanceof Refusal) {
        await tell(err.message);
        return;
      }
      log.error({ err }, "could not request a revert");
      await tell(
        `:warning: Could not request a revert of ${code(sourceId)}: ${escapeMrkdwn(errorInWords(err))}. Try again in a minute.`,
      );
    }
  };
}
