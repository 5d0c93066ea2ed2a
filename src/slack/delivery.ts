import type { KnownBlock } from "@slack/types";
import { ErrorCode, type WebClient } from "@slack/web-api";
import { type Job, type Queue, RateLimitError, UnrecoverableError } from "bullmq";
import type { Outbox, OutboxMessage } from "../jobs/outbox.js";
import { type Logger, withRequestId } from "../log.js";
import type { RequestPolicy } from "../requests/policy.js";
import type { RequestStore } from "../requests/store.js";
import { approvalMessage } from "./views/approval-message.js";
import { auditLine } from "./views/audit-line.js";
import { reminderText } from "./views/reminder.js";
import { outcomeDm } from "./views/replies.js";

/**
 * The Slack adapter of the outbox: renders each queued message from the facts it carries (and
 * the request's state in Redis) and posts it. src/jobs produces these jobs; only this file knows
 * they become Slack messages.
 */

export interface SlackDeliveryDeps {
  client: WebClient;
  store: RequestStore;
  /** The queue this processor serves, to hold it while Slack recovers. */
  queue: Queue<OutboxMessage>;
  /** How long a passing failure holds the queue (its policy's holdBackoff). */
  hold: { delay: number; maxDelay: number };
  /** To redraw the approval message once the audit trail has a link. */
  outbox: Outbox;
  auditChannelId: string;
  /** Who could still approve a request, for its reminder (none: reminders are not posted). */
  policy?: Pick<RequestPolicy, "stillToApprove">;
  logger: Logger;
}

const RETRYABLE_PLATFORM_ERRORS = new Set([
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
  "ratelimited",
]);

/** How long to hold the outbox before trying a failed Slack write again, or undefined if futile. */
export function slackRetryDelayMs(
  err: unknown,
  attempt: number,
  hold: { delay: number; maxDelay: number },
): number | undefined {
  const e = err as {
    code?: string;
    retryAfter?: number;
    statusCode?: number;
    data?: { error?: string };
  };
  const doubled = Math.min(hold.maxDelay, hold.delay * 2 ** Math.max(0, attempt - 1));
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return Math.max(1, e.retryAfter ?? 1) * 1_000;
    case ErrorCode.RequestError:
      return doubled;
    case ErrorCode.HTTPError:
      return (e.statusCode ?? 500) >= 500 || e.statusCode === 429 ? doubled : undefined;
    case ErrorCode.PlatformError:
      return RETRYABLE_PLATFORM_ERRORS.has(e.data?.error ?? "") ? doubled : undefined;
    default:
      return undefined;
  }
}

/**
 * Delivers one Slack write. On a passing failure (429, 5xx, network) the whole outbox is held
 * with queue.rateLimit and the job goes back to the head of the line: lines stay in order and
 * none is dropped. A permanent failure (channel_not_found, not_in_channel…) is logged and skipped
 * so one bad message cannot block the rest.
 */
export function slackDeliveryProcessor(deps: SlackDeliveryDeps) {
  return (job: Job<OutboxMessage>): Promise<void> =>
    withRequestId(job.data.requestId, () => deliverOrHold(deps, job));
}

async function deliverOrHold(deps: SlackDeliveryDeps, job: Job<OutboxMessage>): Promise<void> {
  const message = job.data;
  const log = deps.logger.child({ outbox: message.kind });
  try {
    await deliver(deps, message);
  } catch (err) {
    const delay = slackRetryDelayMs(err, job.attemptsStarted, deps.hold);
    if (delay !== undefined) {
      log.warn({ err, retryInMs: delay }, "Slack write failed; holding the outbox and retrying");
      await deps.queue.rateLimit(delay);
      throw new RateLimitError();
    }
    log.error({ err, message }, "Slack write failed permanently; skipped");
    throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
  }
}

/** Jobs queued before messages carried facts held their rendered text. */
interface RenderedBefore {
  text?: string;
  blocks?: KnownBlock[];
}

async function deliver(deps: SlackDeliveryDeps, message: OutboxMessage): Promise<void> {
  switch (message.kind) {
    case "audit": {
      // A request's first line opens a thread; later lines go in it and to the channel, so the
      // channel reads as a trail and the approval message can link to one request's story.
      const request = await deps.store.get(message.requestId);
      const thread = request?.auditThreadTs;
      const before = message as RenderedBefore;
      const rendered =
        message.record === undefined && before.text !== undefined
          ? { text: before.text, blocks: before.blocks ?? [] }
          : auditLine(message.record);
      const line = {
        channel: deps.auditChannelId,
        ...rendered,
        unfurl_links: false,
        unfurl_media: false,
      };
      const posted = await deps.client.chat.postMessage(
        thread ? { ...line, thread_ts: thread, reply_broadcast: true } : line,
      );
      if (request && !thread && posted.ts) {
        await deps.store.annotate(request.id, { auditThreadTs: posted.ts });
        const link = await deps.client.chat
          .getPermalink({ channel: deps.auditChannelId, message_ts: posted.ts })
          .catch(() => undefined);
        if (link?.permalink) {
          await deps.store.annotate(request.id, { auditPermalink: link.permalink });
          await deps.outbox.updateApproval(request, "audit-link");
        }
      }
      return;
    }
    case "dm": {
      const before = (message as RenderedBefore).text;
      const request = before === undefined ? await deps.store.get(message.requestId) : undefined;
      const text = before ?? (request ? outcomeDm(request) : undefined);
      if (text === undefined) {
        deps.logger.warn(
          { requestId: message.requestId },
          "no request to tell the requester about",
        );
        return;
      }
      await deps.client.chat.postMessage({ channel: message.userId, text });
      return;
    }
    case "remind":
      await remindApprovers(deps, message.requestId);
      return;
    case "update-approval": {
      const request = await deps.store.get(message.requestId);
      if (!request?.approvalChannel || !request.approvalTs) {
        deps.logger.warn({ requestId: message.requestId }, "no approval message to update");
        return;
      }
      await deps.client.chat.update({
        channel: request.approvalChannel,
        ts: request.approvalTs,
        ...approvalMessage(request),
      });
      return;
    }
  }
}

/**
 * Reminds who could still approve a pending request, in its approval message's thread. Claimed
 * in Redis first, so that two processes, a retried job or a job run again after its worker died
 * mid-post never remind twice; a claim whose post Slack refused is given back, so the retry can
 * post it.
 */
async function remindApprovers(deps: SlackDeliveryDeps, requestId: string): Promise<void> {
  const request = await deps.store.get(requestId);
  if (!request?.approvalChannel || !request.approvalTs || !deps.policy) {
    deps.logger.warn({ requestId }, "no approval message to remind its approvers in");
    return;
  }
  const text = reminderText(request, deps.policy.stillToApprove(request), Date.now());
  if (text === undefined) {
    deps.logger.warn({ requestId }, "nobody left who could approve it: no reminder");
    return;
  }
  const claim = await deps.store.claimReminder(request.id);
  if (!claim.claimed) {
    deps.logger.info({ requestId, why: claim.why }, "no reminder: the request moved on");
    return;
  }
  try {
    await deps.client.chat.postMessage({
      channel: request.approvalChannel,
      thread_ts: request.approvalTs,
      text,
      unfurl_links: false,
      unfurl_media: false,
    });
  } catch (err) {
    await deps.store
      .releaseReminder(request.id, claim.at)
      .catch((releaseErr: unknown) =>
        deps.logger.warn({ err: releaseErr }, "could not give the reminder's claim back"),
      );
    throw err;
  }
  deps.logger.info({ requestId }, "approvers reminded");
}
