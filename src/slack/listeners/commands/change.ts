import { errorInWords } from "../../../error-words.js";
import { scheduleExpiry } from "../../../jobs/expiry.js";
import { scheduleReminder } from "../../../jobs/reminder.js";
import { type ChangeKind, type TargetRef, wordsFor } from "../../../requests/changes/index.js";
import {
  type ChangeAction,
  type ChangeRequest,
  MAX_REASON_LENGTH,
} from "../../../requests/model.js";
import type { CreateRefusal } from "../../../requests/store.js";
import { splitFirst, unquote } from "../../command-text.js";
import type { BotDeps } from "../../deps.js";
import { approvalMessage } from "../../views/approval-message.js";
import { COMMAND, requestCreatedReply } from "../../views/replies.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { lookUpTarget, refLabel } from "./look-up.js";
import {
  type CommandContext,
  type Invalid,
  type ParseContext,
  Refusal,
  type Subcommand,
  subcommand,
  takeTenant,
} from "./types.js";

interface ChangeArgs {
  tenant: string;
  target: TargetRef;
  reason: string;
}

/** One subcommand per action of a kind of change: `promote [tenant] <connection> [reason]`, … */
export function changeSubcommand(kind: ChangeKind, action: ChangeAction): Subcommand {
  const words = wordsFor(kind, action);
  return subcommand<ChangeArgs>({
    name: action,
    audience: "anyone",
    args: `${kind.targetUsage} [reason]`,
    tenantWord: "required",
    does: words.does,
    parse(text, ctx) {
      if (kind.targetIsTenant) return parseTenantTarget(text, ctx, action);
      const named = takeTenant(text, ctx, (t) => `${COMMAND} ${action} ${t} <connection>`);
      if ("invalid" in named) return named;
      const [word, tail] = splitFirst(named.rest);
      if (!word) return { invalid: `\`${action}\` needs a ${kind.targetNoun} id or name.` };
      const reason = unquote(tail);
      if (reason.length > MAX_REASON_LENGTH) return reasonTooLong(reason);
      const ref = kind.parseTarget(word);
      if ("invalid" in ref) return ref;
      if (!reason && ctx.reasonRequiredIn?.includes(named.tenant)) {
        const tenantWord = ctx.tenants.length > 1 ? `${named.tenant} ` : "";
        const actionWord = action === "promote" ? "" : `${action} `;
        return {
          invalid: reasonRequired(
            named.tenant,
            `${COMMAND} ${actionWord}${tenantWord}${word} "why it is needed"`,
          ),
        };
      }
      return { tenant: named.tenant, target: ref, reason };
    },
    ack: ({ tenant, target }) =>
      `:mag: Looking up ${kind.targetIsTenant ? `${tenant}'s settings` : refLabel(target)} in Auth0…`,
    run: (ctx, args) => requestChange(ctx, kind, action, args),
  });
}

/**
 * A tenant whose policy (REQUIRE_REASON, or `requireReason` in TENANTS_FILE) asks every request
 * for a reason, and a request without one: the same words for the command and the request form.
 */
export function reasonRequired(tenant: string, example?: string): string {
  return `Requests in ${tenant} need a reason (the tenant's policy): say why the change is needed${example ? `, for example \`${example}\`` : ""}. Nothing was requested.`;
}

function reasonTooLong(reason: string): Invalid {
  return {
    invalid: `The reason is ${reason.length} characters long; please keep it under ${MAX_REASON_LENGTH}.`,
  };
}

/**
 * `enable-dcr <tenant> [reason]`: the tenant is the target. With one tenant it may be left out;
 * with several, a command that names none is answered with their names.
 */
function parseTenantTarget(
  text: string,
  ctx: ParseContext,
  action: ChangeAction,
): ChangeArgs | Invalid {
  const [first, tail] = splitFirst(text);
  const [only] = ctx.tenants;
  let tenant: string;
  let rest: string;
  if (ctx.tenants.includes(first)) [tenant, rest] = [first, tail];
  else if (ctx.tenants.length === 1 && only) [tenant, rest] = [only, text];
  else {
    return {
      invalid: `Which tenant? Name one of ${ctx.tenants.map((t) => `\`${t}\``).join(", ")}, for example \`${COMMAND} ${action} ${ctx.tenants[0] ?? "dev"}\`.`,
    };
  }
  const reason = unquote(rest);
  if (reason.length > MAX_REASON_LENGTH) return reasonTooLong(reason);
  if (!reason && ctx.reasonRequiredIn?.includes(tenant)) {
    return { invalid: reasonRequired(tenant, `${COMMAND} ${action} ${tenant} "why it is needed"`) };
  }
  return { tenant, target: { kind: "id", id: tenant }, reason };
}

/**
 * Who may ask; what Redis alone can refuse (an open request for the same change, too many open
 * requests of this person), so that a refused request costs no Auth0 call; then look the target
 * up, refuse what needs no change, record a PENDING request (store.create is the atomic final
 * word on duplicates and limits), post it for approval, and schedule its expiry and reminder.
 */
export async function requestChange(
  ctx: CommandContext,
  kind: ChangeKind,
  action: ChangeAction,
  args: ChangeArgs,
): Promise<void> {
  const { deps, userId } = ctx;
  const { config } = deps;
  const tenant = deps.tenants.get(args.tenant);
  if (!tenant) throw new Refusal(`:grey_question: No tenant \`${args.tenant}\` is configured.`);
  const { settings } = tenant;
  const words = wordsFor(kind, action);
  // The final word on the tenant's policy, whichever way the request came (command, form, button).
  if (settings.requireReason && !args.reason.trim()) {
    throw new Refusal(`:memo: ${reasonRequired(settings.name)}`);
  }
  const may = await deps.policy.mayRequest(userId);
  if (!may.allowed) {
    throw new Refusal(`:lock: You cannot ask to ${words.verb} connections: ${may.why}.`);
  }
  const change = { tenant: settings.name, kind: kind.name, action, requesterId: userId };
  const early = await redisOr(deps, () =>
    deps.store.refusalFor(change, args.target, config.policy.maxOpenRequestsPerUser),
  );
  if (early) throw createRefusal(early, refLabel(args.target), words.verb);

  const target = await lookUpTarget(ctx, tenant, kind, args.target);
  const noOp = kind.noOp(target, action);
  if (noOp) throw new Refusal(`:information_source: ${noOp}`);
  const context = await kind.context(tenant.auth0, target, action, (err, what) =>
    deps.logger.warn({ err }, `could not read ${what}`),
  );

  const created = await redisOr(deps, () =>
    deps.store.create(
      {
        ...change,
        tenantDomain: settings.domain,
        target: { ...target, facts: { ...target.facts, ...context } },
        reason: args.reason,
        teamId: ctx.teamId,
        requiredApprovals: settings.requiredApprovals,
        dryRun: settings.dryRun,
      },
      {
        ttlMs: settings.requestTtlMs,
        maxOpenPerUser: config.policy.maxOpenRequestsPerUser,
        remindAfterMs: settings.remindAfterMs,
      },
    ),
  );
  if (!created.ok) throw createRefusal(created, code(target.name), words.verb);
  // The "requested" audit event was recorded with the request.
  const request = await postForApproval(ctx, created.request);
  await scheduleExpiry(deps.expiryQueue, request.id, request.expiresAt);
  if (request.remindAt !== undefined) {
    await scheduleReminder(deps.reminderQueue, request.id, request.remindAt);
  }
  deps.logger
    .child({ requestId: request.id, user: userId })
    .info({ targetId: request.target.id, action: request.action }, "change requested");
  await ctx.reply(requestCreatedReply(request, deps.policy.describeApprovers(settings.name)));
}

/** Runs a store call; Redis failing becomes a refusal in words. */
async function redisOr<T>(deps: BotDeps, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    deps.logger.error({ err }, "could not store the request");
    throw new Refusal(
      ":warning: Could not save the request: the bot's Redis is unreachable. Nothing was requested; try again in a minute or tell whoever runs the bot.",
    );
  }
}

/** Why the store refused a request, in words: `target` as the person named it. */
function createRefusal(refused: CreateRefusal, target: string, verb: string): Refusal {
  if (refused.reason === "duplicate") {
    return new Refusal(
      `:information_source: There is already an open request to ${verb} ${target}: ${code(refused.openRequestId)}. See \`${COMMAND} status ${refused.openRequestId}\`; no second request was made.`,
    );
  }
  return new Refusal(
    `:no_entry: You already have ${refused.open} open request${refused.open === 1 ? "" : "s"}, the most allowed. Wait for one to be settled, or withdraw one with \`${COMMAND} cancel <request id>\` (\`${COMMAND} list\` shows them).`,
  );
}

/** Posts the approval message; a request that cannot be shown to approvers is withdrawn. */
async function postForApproval(ctx: CommandContext, request: ChangeRequest) {
  const { deps } = ctx;
  const channel = deps.tenants.get(request.tenant)?.settings.approvalChannelId ?? "";
  try {
    const posted = await ctx.client.chat.postMessage({
      channel,
      ...approvalMessage(request),
      unfurl_links: false,
    });
    await deps.store.annotate(request.id, { approvalChannel: channel, approvalTs: posted.ts });
    return { ...request, approvalChannel: channel, approvalTs: posted.ts };
  } catch (err) {
    deps.logger
      .child({ requestId: request.id })
      .error({ err }, "could not post the approval message");
    await deps.store.transition(request.id, "PENDING", "CANCELLED", {
      fields: { outcome: "the approval message could not be posted", completedAt: Date.now() },
      event: "cancelled",
      detail: "The approval message could not be posted, so nobody could decide on it.",
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
}
