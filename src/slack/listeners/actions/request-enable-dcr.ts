import { errorInWords } from "../../../error-words.js";
import { tenantDcr } from "../../../requests/changes/tenant-dcr.js";
import { isRequestId } from "../../../requests/model.js";
import type { BotDeps } from "../../deps.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { requestChange } from "../commands/change.js";
import { SUBCOMMAND_NAMES } from "../commands/subcommands.js";
import { Refusal } from "../commands/types.js";
import { type ButtonArgs, teller } from "./decide.js";

/**
 * "Also request enabling DCR", on a promotion in a tenant whose DCR is off: files the request to
 * turn it on, on behalf of whoever clicks, through the same policy and approval as the command
 * `enable-dcr <tenant>`.
 */
export function requestEnableDcr(deps: BotDeps) {
  return async (args: ButtonArgs): Promise<void> => {
    await args.ack();
    const tell = teller(args);
    const userId = args.body.user.id;
    const sourceId = args.action.value ?? "";
    const log = deps.logger.child({ handler: "request-enable-dcr", user: userId });
    try {
      const source = isRequestId(sourceId) ? await deps.store.get(sourceId) : undefined;
      if (!source) {
        await tell(":warning: This button does not belong to a request this bot knows.");
        return;
      }
      await requestChange(
        {
          deps,
          client: args.client,
          userId,
          teamId: args.body.user.team_id ?? args.body.team?.id ?? "",
          reply: tell,
          subcommandNames: SUBCOMMAND_NAMES,
        },
        tenantDcr,
        "enable-dcr",
        {
          tenant: source.tenant,
          target: { kind: "id", id: source.tenant },
          reason: `So that ${source.target.name} reaches third-party applications once promoted (asked with ${source.id}).`,
        },
      );
    } catch (err) {
      if (err instanceof Refusal) {
        await tell(err.message);
        return;
      }
      log.error({ err }, "could not request enabling DCR");
      await tell(
        `:warning: Could not request enabling DCR for ${code(sourceId)}: ${escapeMrkdwn(errorInWords(err))}. Try again in a minute.`,
      );
    }
  };
}
