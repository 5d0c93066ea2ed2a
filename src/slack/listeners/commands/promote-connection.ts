import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from "@slack/bolt";
import type { Connection } from "../../../auth0/management.js";
import { errorInWords } from "../../../jobs/promote-processor.js";
import type { DcrStatus } from "../../../requests/model.js";
import type { BotDeps } from "../../deps.js";
import { type ConnectionRef, parseCommand } from "../../parse-command.js";
import { approvalMessage } from "../../views/approval-message.js";
import { requestCreatedReply, usage } from "../../views/replies.js";
import { code, escapeMrkdwn } from "../../views/text.js";

type Args = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

function refLabel(ref: ConnectionRef): string {
  return ref.kind === "id" ? code(ref.id) : code(ref.name);
}

/** Thrown to end the command with a message for the requester. */
class Refusal extends Error {}

async function lookUp(deps: BotDeps, ref: ConnectionRef): Promise<Connection> {
  try {
    if (ref.kind === "id") return await deps.auth0.getConnection(ref.id);
    const found = await deps.auth0.findConnectionByName(ref.name);
    if (!found) {
      throw new Refusal(
        `:grey_question: No connection named ${code(ref.name)} exists in this Auth0 tenant. Check the name (it is case-sensitive) or use the connection id (\`con_…\`).`,
      );
    }
    return found;
  } catch (err) {
    if (err instanceof Refusal) throw err;
    if ((err as { status?: number }).status === 404) {
      throw new Refusal(
        `:grey_question: No connection ${refLabel(ref)} exists in this Auth0 tenant. Nothing was requested.`,
      );
    }
    throw new Refusal(
      `:warning: Could not look up ${refLabel(ref)} in Auth0: ${escapeMrkdwn(errorInWords(err))}. Nothing was requested; try again in a minute.`,
    );
  }
}

async function dynamicClientRegistration(deps: BotDeps): Promise<DcrStatus> {
  try {
    const settings = await deps.auth0.getTenantSettings();
    return settings.flags?.enable_dynamic_client_registration === true ? "on" : "off";
  } catch (err) {
    deps.logger.warn({ err }, "could not read tenant settings");
    return "unknown";
  }
}

/**
 * `/promote-connection <con_id | name> [reason]`: acks at once (Slack allows 3 s; Auth0 may take
 * longer), then looks the connection up, records a PENDING request and posts it for approval.
 */
export function promoteConnection(deps: BotDeps) {
  return async ({ command, ack, respond, client }: Args): Promise<void> => {
    const parsed = parseCommand(command.text);
    if (parsed.kind === "help") {
      await ack({ response_type: "ephemeral", text: usage() });
      return;
    }
    if (parsed.kind === "invalid") {
      await ack({ response_type: "ephemeral", text: `:warning: ${parsed.message}\n\n${usage()}` });
      return;
    }
    await ack({
      response_type: "ephemeral",
      text: `:mag: Looking up ${refLabel(parsed.connection)} in Auth0…`,
    });

    const log = deps.logger.child({ handler: "promote-connection", user: command.user_id });
    const reply = (text: string) => respond({ response_type: "ephemeral", text });
    try {
      const connection = await lookUp(deps, parsed.connection);
      if (connection.is_domain_connection) {
        await reply(
          `:information_source: ${code(connection.name)} (${code(connection.id)}) is already a domain-level connection: there is nothing to approve.`,
        );
        return;
      }
      const dcr = await dynamicClientRegistration(deps);

      let request: Awaited<ReturnType<typeof deps.store.create>>;
      try {
        request = await deps.store.create({
          connectionId: connection.id,
          connectionName: connection.name,
          displayName: connection.display_name,
          strategy: connection.strategy,
          wasDomainConnection: connection.is_domain_connection,
          reason: parsed.reason,
          requesterId: command.user_id,
          teamId: command.team_id,
          dcr,
        });
      } catch (err) {
        log.error({ err }, "could not store the request");
        await reply(
          ":warning: Could not save the request: the bot's Redis is unreachable. Nothing was requested; try again in a minute or tell whoever runs the bot.",
        );
        return;
      }
      const reqLog = log.child({ requestId: request.id });

      const channel = deps.config.slack.approvalChannelId;
      try {
        const posted = await client.chat.postMessage({
          channel,
          ...approvalMessage(request),
          unfurl_links: false,
        });
        await deps.store.annotate(request.id, { approvalChannel: channel, approvalTs: posted.ts });
        request = { ...request, approvalChannel: channel, approvalTs: posted.ts };
      } catch (err) {
        reqLog.error({ err }, "could not post the approval message");
        await deps.store.transition(request.id, "PENDING", "CANCELLED", {
          outcome: "the approval message could not be posted",
          completedAt: Date.now(),
        });
        const slackError = (err as { data?: { error?: string } }).data?.error;
        const hint =
          slackError === "not_in_channel" || slackError === "channel_not_found"
            ? ` Invite the bot to <#${channel}> (\`/invite\`) and try again.`
            : " Try again in a minute.";
        await reply(
          `:warning: Could not post the approval request in <#${channel}> (${escapeMrkdwn(slackError ?? errorInWords(err))}). The request was withdrawn.${hint}`,
        );
        return;
      }

      await deps.outbox.audit({
        event: "requested",
        request,
        actorId: request.requesterId,
        at: request.createdAt,
        detail: request.reason ? `Reason: ${request.reason}` : undefined,
      });
      reqLog.info({ connectionId: request.connectionId }, "promotion requested");
      await reply(requestCreatedReply(request, deps.policy.describeApprovers()));
    } catch (err) {
      if (err instanceof Refusal) {
        await reply(err.message);
        return;
      }
      log.error({ err }, "promote-connection failed");
      await reply(
        `:warning: Something went wrong: ${escapeMrkdwn(errorInWords(err))}. Nothing was requested.`,
      );
    }
  };
}
