import type { KnownBlock } from "@slack/types";
import { ErrorCode, type WebClient } from "@slack/web-api";
import { type Job, type Queue, RateLimitError, UnrecoverableError } from "bullmq";
import { type Logger, withRequestId } from "../log.js";
import type { AuditLog } from "../requests/audit-log.js";
import type { PromotionRequest } from "../requests/model.js";
import type { RequestStore } from "../requests/store.js";
import { approvalMessage } from "../slack/views/approval-message.js";
import { type AuditEntry, auditLine } from "../slack/views/audit-line.js";
import { outcomeDm } from "../slack/views/replies.js";

export type OutboxMessage =
  | { kind: "audit"; requestId: string; text: string; blocks: KnownBlock[] }
  | { kind: "update-approval"; requestId: string }
  | { kind: "dm"; requestId: string; userId: string; text: string };

const KEEP_SECONDS = 7 * 24 * 3600;

export interface OutboxQueues {
  /** Approval-message updates and DMs. */
  slack: Queue<OutboxMessage>;
  /** Audit lines: their own queue, so they stay in order whatever else is waiting. */
  audit: Queue<OutboxMessage>;
}

/**
 * Enqueues Slack writes. Job ids are derived from the request and the event, so a step that runs
 * twice (a retried job, a restarted worker) enqueues its messages once.
 */
export class Outbox {
  private readonly listeners: ((entry: AuditEntry) => void)[] = [];

  constructor(
    private readonly queues: OutboxQueues,
    private readonly auditLog: AuditLog,
  ) {}

  /** Called for every audit event once it is recorded (metrics count them). */
  onEvent(listener: (entry: AuditEntry) => void): void {
    this.listeners.push(listener);
  }

  private async add(queue: Queue<OutboxMessage>, jobId: string, message: OutboxMessage) {
    await queue.add(message.kind, message, {
      jobId,
      removeOnComplete: { age: KEEP_SECONDS },
      removeOnFail: { age: KEEP_SECONDS },
    });
  }

  /**
   * Records an audit event: first in the Redis stream (the record), then queued for the audit
   * channel. `key` tells apart repeatable events of one request (refused clicks, approvals).
   */
  async audit(entry: AuditEntry, key?: string): Promise<void> {
    const { request } = entry;
    await this.auditLog.append({
      event: entry.event,
      requestId: request.id,
      action: request.action,
      connectionId: request.connectionId,
      connectionName: request.connectionName,
      actorId: entry.actorId,
      at: entry.at,
      detail: entry.detail,
      dryRun: request.dryRun,
    });
    for (const listener of this.listeners) listener(entry);
    const { text, blocks } = auditLine(entry);
    const suffix = key ? `.${key.replace(/[^A-Za-z0-9_.-]/g, "")}` : "";
    await this.add(this.queues.audit, `${request.id}.audit.${entry.event}${suffix}`, {
      kind: "audit",
      requestId: request.id,
      text,
      blocks,
    });
  }

  /** Has this event of this request been queued for the audit channel? */
  async audited(requestId: string, event: AuditEntry["event"]): Promise<boolean> {
    return (await this.queues.audit.getJob(`${requestId}.audit.${event}`)) !== undefined;
  }

  /** Redraws the approval message from the request's state when the job runs. */
  async updateApproval(
    request: Pick<PromotionRequest, "id" | "state">,
    key?: string,
  ): Promise<void> {
    await this.add(this.queues.slack, `${request.id}.update.${key ?? request.state}`, {
      kind: "update-approval",
      requestId: request.id,
    });
  }

  /**
   * A request left PENDING or APPROVED for good: its approval message is redrawn, the requester
   * told (unless they did it themselves), and the event audited.
   */
  async settled(
    request: PromotionRequest,
    event: Omit<AuditEntry, "request">,
    options: { tellRequester: boolean },
  ): Promise<void> {
    await this.updateApproval(request);
    if (options.tellRequester) await this.notifyRequester(request);
    await this.audit({ ...event, request });
  }

  /** Tells the requester how their request ended (once per final state). */
  async notifyRequester(request: PromotionRequest): Promise<void> {
    await this.add(this.queues.slack, `${request.id}.dm.${request.state}`, {
      kind: "dm",
      requestId: request.id,
      userId: request.requesterId,
      text: outcomeDm(request),
    });
  }
}

export interface OutboxDeliveryDeps {
  client: WebClient;
  store: RequestStore;
  /** The queue this processor serves, to hold it while Slack recovers. */
  queue: Queue<OutboxMessage>;
  /** To redraw the approval message once the audit trail has a link. */
  outbox: Outbox;
  auditChannelId: string;
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
export function slackRetryDelayMs(err: unknown, attempt: number): number | undefined {
  const e = err as {
    code?: string;
    retryAfter?: number;
    statusCode?: number;
    data?: { error?: string };
  };
  const backoff = Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1));
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return Math.max(1, e.retryAfter ?? 1) * 1_000;
    case ErrorCode.RequestError:
      return backoff;
    case ErrorCode.HTTPError:
      return (e.statusCode ?? 500) >= 500 || e.statusCode === 429 ? backoff : undefined;
    case ErrorCode.PlatformError:
      return RETRYABLE_PLATFORM_ERRORS.has(e.data?.error ?? "") ? backoff : undefined;
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
export function outboxProcessor(deps: OutboxDeliveryDeps) {
  return (job: Job<OutboxMessage>): Promise<void> =>
    withRequestId(job.data.requestId, () => deliverOrHold(deps, job));
}

async function deliverOrHold(deps: OutboxDeliveryDeps, job: Job<OutboxMessage>): Promise<void> {
  const message = job.data;
  const log = deps.logger.child({ outbox: message.kind });
  try {
    await deliver(deps, message);
  } catch (err) {
    const delay = slackRetryDelayMs(err, job.attemptsStarted);
    if (delay !== undefined) {
      log.warn({ err, retryInMs: delay }, "Slack write failed; holding the outbox and retrying");
      await deps.queue.rateLimit(delay);
      throw new RateLimitError();
    }
    log.error({ err, message }, "Slack write failed permanently; skipped");
    throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
  }
}

async function deliver(deps: OutboxDeliveryDeps, message: OutboxMessage): Promise<void> {
  switch (message.kind) {
    case "audit": {
      // A request's first line opens a thread; later lines go in it and to the channel, so the
      // channel reads as a trail and the approval message can link to one request's story.
      const request = await deps.store.get(message.requestId);
      const thread = request?.auditThreadTs;
      const line = {
        channel: deps.auditChannelId,
        text: message.text,
        blocks: message.blocks,
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
    case "dm":
      await deps.client.chat.postMessage({ channel: message.userId, text: message.text });
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
