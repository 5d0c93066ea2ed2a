import { errorInWords } from "../../../error-words.js";
import type { Logger } from "../../../log.js";
import { type ChangeRequest, isRequestId } from "../../../requests/model.js";
import type { BotDeps } from "../../deps.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { SUBCOMMAND_NAMES } from "../commands/subcommands.js";
import { type CommandContext, Refusal } from "../commands/types.js";
import { type ButtonArgs, teller } from "./decide.js";

/** What a button that files a request from another request does, and how it is named. */
export interface FileFromRequest {
  /** For log lines: "request-revert". */
  handler: string;
  /** What went wrong, in "Could not … `req_…`": "request a revert of". */
  failedTo: string;
  /**
   * Files the new request for whoever clicked, through `requestChange` with `ctx` (whose reply
   * answers the clicker privately); a Refusal thrown is told to them as it is.
   */
  file(source: ChangeRequest, ctx: CommandContext, log: Logger): Promise<void>;
}

/**
 * A button on a request's message that files another request on behalf of whoever clicks ("Also
 * request enabling DCR", "Request revert"): ack, find the request the button's value names, file
 * through the same policy and approval as the command, and answer the clicker privately.
 */
export function fileFromRequestButton(deps: BotDeps, does: FileFromRequest) {
  return async (args: ButtonArgs): Promise<void> => {
    await args.ack();
    const tell = teller(args);
    const userId = args.body.user.id;
    const sourceId = args.action.value ?? "";
    const log = deps.logger.child({ handler: does.handler, user: userId });
    try {
      const source = isRequestId(sourceId) ? await deps.store.get(sourceId) : undefined;
      if (!source) {
        await tell(":warning: This button does not belong to a request this bot knows.");
        return;
      }
      const ctx: CommandContext = {
        deps,
        client: args.client,
        userId,
        teamId: args.body.user.team_id ?? args.body.team?.id ?? "",
        reply: tell,
        subcommandNames: SUBCOMMAND_NAMES,
      };
      await does.file(source, ctx, log);
    } catch (err) {
      if (err instanceof Refusal) {
        await tell(err.message);
        return;
      }
      log.error({ err }, `could not ${does.failedTo} a request`);
      await tell(
        `:warning: Could not ${does.failedTo} ${code(sourceId)}: ${escapeMrkdwn(errorInWords(err))}. Try again in a minute.`,
      );
    }
  };
}
