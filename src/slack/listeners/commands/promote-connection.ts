import { errorInWords } from "../../../error-words.js";
import type { BotDeps } from "../../deps.js";
import { cannotSeeRequests } from "../../views/replies.js";
import { escapeMrkdwn } from "../../views/text.js";
import { openRequestForm } from "../views/request-form.js";
import { commandAck, parseCommand, requestFormFor, SUBCOMMAND_NAMES } from "./subcommands.js";
import { type CommandArgs, isInvalid, type ParseContext, Refusal, type Reply } from "./types.js";

/** What reading a command needs of the configuration: the tenants and their reason policy. */
export function parseContext(deps: BotDeps): ParseContext {
  const tenants = deps.tenants.names;
  return {
    tenants,
    reasonRequiredIn: tenants.filter((t) => deps.tenants.get(t)?.settings.requireReason),
  };
}

/**
 * `/promote-connection …`: acks at once (Slack allows 3 s; Auth0 may take longer), then runs the
 * subcommand and answers privately through the response URL. With no target named, it opens the
 * request form with the command's trigger instead.
 */
export function promoteConnection(deps: BotDeps) {
  return async (args: CommandArgs): Promise<void> => {
    const { command, ack, respond } = args;
    // With several tenants, commands name one: reading them needs the tenants' names.
    const ctx = parseContext(deps);
    const reply: Reply = (text) => respond({ response_type: "ephemeral", text });
    const picks = requestFormFor(command.text, ctx);
    if (picks) {
      await ack();
      await openRequestForm(deps, args.client, {
        triggerId: command.trigger_id,
        userId: command.user_id,
        picks,
        tell: reply,
      });
      return;
    }
    const parsed = parseCommand(command.text, ctx);
    const early = commandAck(parsed, ctx);
    await (early === undefined ? ack() : ack({ response_type: "ephemeral", text: early }));
    if (isInvalid(parsed)) return;

    const log = deps.logger.child({ handler: `command-${parsed.name}`, user: command.user_id });
    try {
      if (parsed.audience === "readers") {
        const may = await deps.policy.mayRead(command.user_id);
        if (!may.allowed) throw new Refusal(cannotSeeRequests(may.why));
      }
      await parsed.run({
        deps,
        client: args.client,
        userId: command.user_id,
        teamId: command.team_id,
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
