import { scheduleExpiry } from "../../../jobs/expiry.js";
import { errorInWords } from "../../../jobs/promote-processor.js";
import type { DcrStatus, PromotionRequest } from "../../../requests/model.js";
import type { BotDeps } from "../../deps.js";
import type { ParsedCommand } from "../../parse-command.js";
import { ACTION_WORDS, approvalMessage } from "../../views/approval-message.js";
import { COMMAND, requestCreatedReply } from "../../views/replies.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { lookUpConnection, Refusal } from "./look-up.js";
import type { CommandArgs, Reply } from "./promote-connection.js";

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
 * `promote` / `demote`: who may ask, look the connection up, refuse what needs no change, record a
 * PENDING request (one per connection and action, a few per requester), post it for approval,
 * and schedule its expiry.
 */
export async function requestChange(
  deps: BotDeps,
  { command, client }: CommandArgs,
  parsed: Extract<ParsedCommand, { kind: "change" }>,
  reply: Reply,
): Promise<void> {
  const { config } = deps;
  const words = ACTION_WORDS[parsed.action];
  const may = await deps.policy.mayRequest(command.user_id);
  if (!may.allowed)
    throw new Refusal(`:lock: You cannot ask to ${words.verb} connections: ${may.why}.`);

  const connection = await lookUpConnection(deps, parsed.connection);
  const target = parsed.action === "promote";
  if (connection.is_domain_connection === target) {
    throw new Refusal(
      `:information_source: ${code(connection.name)} (${code(connection.id)}) is ${target ? "already" : "not"} a domain-level connection: there is nothing to approve.`,
    );
  }
  const dcr = await dynamicClientRegistration(deps);

  let created: Awaited<ReturnType<typeof deps.store.create>>;
  try {
    created = await deps.store.create(
      {
        action: parsed.action,
        connectionId: connection.id,
        connectionName: connection.name,
        displayName: connection.display_name,
        strategy: connection.strategy,
        wasDomainConnection: connection.is_domain_connection,
        reason: parsed.reason,
        requesterId: command.user_id,
        teamId: command.team_id,
        dcr,
        requiredApprovals: config.policy.requiredApprovals,
        dryRun: config.policy.dryRun,
      },
      {
        ttlMs: config.policy.requestTtlMs,
        maxOpenPerUser: config.policy.maxOpenRequestsPerUser,
      },
    );
  } catch (err) {
    deps.logger.error({ err }, "could not store the request");
    throw new Refusal(
      ":warning: Could not save the request: the bot's Redis is unreachable. Nothing was requested; try again in a minute or tell whoever runs the bot.",
    );
  }
  if (!created.ok) {
    if (created.reason === "duplicate") {
      throw new Refusal(
        `:information_source: There is already an open request to ${words.verb} ${code(connection.name)}: ${code(created.openRequestId)}. See \`${COMMAND} status ${created.openRequestId}\`; no second request was made.`,
      );
    }
    throw new Refusal(
      `:no_entry: You already have ${created.open} open requests, the most allowed. Wait for them to be settled, or withdraw one with \`${COMMAND} cancel <request id>\` (\`${COMMAND} list\` shows them).`,
    );
  }
  let request: PromotionRequest = created.request;
  const log = deps.logger.child({ requestId: request.id, user: command.user_id });

  const channel = config.slack.approvalChannelId;
  try {
    const posted = await client.chat.postMessage({
      channel,
      ...approvalMessage(request),
      unfurl_links: false,
    });
    await deps.store.annotate(request.id, { approvalChannel: channel, approvalTs: posted.ts });
    request = { ...request, approvalChannel: channel, approvalTs: posted.ts };
  } catch (err) {
    log.error({ err }, "could not post the approval message");
    await deps.store.transition(request.id, "PENDING", "CANCELLED", {
      outcome: "the approval message could not be posted",
      completedAt: Date.now(),
    });
    const slackError = (err as { data?: { error?: string } }).data?.error;
    const hint =
      slackError === "not_in_channel" || slackError === "channel_not_found"
        ? ` Invite the bot to <#${channel}> (\`/invite\`) and try again.`
        : " Try again in a minute.";
    throw new Refusal(
      `:warning: Could not post the approval request in <#${channel}> (${escapeMrkdwn(slackError ?? errorInWords(err))}). The request was withdrawn.${hint}`,
    );
  }

  await deps.outbox.audit({
    event: "requested",
    request,
    actorId: request.requesterId,
    at: request.createdAt,
    detail: request.reason ? `Reason: ${request.reason}` : undefined,
  });
  await scheduleExpiry(deps.expiryQueue, request.id, request.expiresAt);
  log.info({ connectionId: request.connectionId, action: request.action }, "change requested");
  await reply(requestCreatedReply(request, deps.policy.describeApprovers()));
}
