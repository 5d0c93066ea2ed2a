import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from "@slack/bolt";
import { errorInWords } from "../../../jobs/promote-processor.js";
import type { BotDeps } from "../../deps.js";
import { type ParsedCommand, parseCommand } from "../../parse-command.js";
import { usage } from "../../views/replies.js";
import { escapeMrkdwn } from "../../views/text.js";
import { cancelRequest } from "./cancel.js";
import { showHistory } from "./history.js";
import { listRequests } from "./list.js";
import { Refusal, refLabel } from "./look-up.js";
import { requestChange } from "./request-change.js";
import { showStatus } from "./status.js";

export type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
export type Reply = (text: string) => Promise<unknown>;

/**
 * The immediate answer to a command: all of it for help and bad input, "Looking up…" for the
 * rest. Pure, so the HTTP receiver can answer Slack with it before the handler runs.
 */
export function commandAck(
  parsed: ParsedCommand,
): { response_type: "ephemeral"; text: string } | undefined {
  const say = (text: string) => ({ response_type: "ephemeral" as const, text });
  switch (parsed.kind) {
    case "help":
      return say(usage());
    case "invalid":
      return say(`:warning: ${parsed.message}\n\n${usage()}`);
    case "change":
      return say(`:mag: Looking up ${refLabel(parsed.connection)} in Auth0…`);
    case "status":
      return say(":mag: Looking it up…");
    default:
      return undefined;
  }
}

/**
 * `/promote-connection …`: acks at once (Slack allows 3 s; Auth0 may take longer), then runs the
 * subcommand and answers privately through the response URL.
 */
export function promoteConnection(deps: BotDeps) {
  return async (args: CommandArgs): Promise<void> => {
    const { command, ack, respond } = args;
    const parsed = parseCommand(command.text);
    const early = commandAck(parsed);
    await (early ? ack(early) : ack());
    if (parsed.kind === "help" || parsed.kind === "invalid") return;

    const log = deps.logger.child({ handler: `command-${parsed.kind}`, user: command.user_id });
    const reply: Reply = (text) => respond({ response_type: "ephemeral", text });
    try {
      switch (parsed.kind) {
        case "change":
          return await requestChange(deps, args, parsed, reply);
        case "status":
          return await showStatus(deps, parsed.target, reply);
        case "list":
          return await listRequests(deps, command.user_id, reply);
        case "cancel":
          return await cancelRequest(deps, command.user_id, parsed.requestId, reply);
        case "history":
          return await showHistory(deps, parsed.connection, reply);
      }
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
