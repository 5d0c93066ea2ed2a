import { errorInWords } from "../../../error-words.js";
import type { BotDeps } from "../../deps.js";
import { cannotSeeRequests } from "../../views/replies.js";
import { escapeMrkdwn } from "../../views/text.js";
import { commandAck, parseCommand, SUBCOMMAND_NAMES } from "./subcommands.js";
import { type CommandArgs, isInvalid, Refusal, type Reply } from "./types.js";

/**
 * `/promote-connection …`: acks at once (Slack allows 3 s; Auth0 may take longer), then runs the
 * subcommand and answers privately through the response URL.
 */
export function promoteConnection(deps: BotDeps) {
  return async (args: CommandArgs): Promise<void> => {
    const { command, ack, respond } = args;
    // With several tenants, commands name one: reading them needs the tenants' names.
    const ctx = { tenants: deps.tenants.names };
    const parsed = parseCommand(command.text, ctx);
    const early = commandAck(parsed, ctx);
    await (early === undefined ? ack() : ack({ response_type: "ephemeral", text: early }));
    if (isInvalid(parsed)) return;

    const log = deps.logger.child({ handler: `command-${parsed.name}`, user: command.user_id });
    const reply: Reply = (text) => respond({ response_type: "ephemeral", text });
    try {
      if (parsed.audience === "readers") {
        const may = await deps.policy.mayRead(command.user_id);
        if (!may.allowed) throw new Refusal(cannotSeeRequests(may.why));
      }
      await parsed.run({
        deps,
        args,
        userId: command.user_id,
        reply,
        subcommandNames: SUBCOMMAND_NAMES,
      });
    } catch (err) {
      if (err instanceof Refusal) {
        await reply(err.message);
        return;
      }
      log.error({ err }, "command failed");
      await reply(
        `:warning: Something went wrong: ${escapeMrkdwn(errorInWords(err))}. Nothing was changed; try again in a minute.`,
      );
    }
  };
}
