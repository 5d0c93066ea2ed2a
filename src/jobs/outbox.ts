import type { KnownBlock } from "@slack/types";
import { ErrorCode, type WebClient } from "@slack/web-api";
import { type Job, type Queue, RateLimitError, UnrecoverableError } from "bullmq";
import type { Logger } from "../log.js";
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

/**
 * Enqueues Slack writes. Job ids are derived from the request and the event, so a step that runs
 * twice (a retried job, a restarted worker) enqueues its messages once.
 */
export class Outbox {
  constructor(private readonly queue: Queue<OutboxMessage>) {}

  private async add(jobId: string, message: OutboxMessage): Promise<void> {
    await this.queue.add(message.kind, message, {
      jobId,
      removeOnComplete: { age: KEEP_SECONDS },
      removeOnFail: { age: KEEP_SECONDS },
    });
  }

  /** `key` tells apart repeatable events of one request (e.g. several refused clicks). */
  async audit(entry: AuditEntry, key?: string): Promise<void> {
    const { text, blocks } = auditLine(entry);
    const suffix = key ? `.${key.replace(/[^A-Za-z0-9_.-]/g, "")}` : "";
    await this.add(`${entry.request.id}.audit.${entry.event}${suffix}`, {
      kind: "audit",
      requestId: entry.request.id,
      text,
      blocks,
    });
  }

  /** Redraws the approval message from the request's state when the job runs. */
  async updateApproval(request: Pick<PromotionRequest, "id" | "state">): Promise<void> {
    await this.add(`${request.id}.update.${request.state}`, {
      kind: "update-approval",
      requestId: request.id,
    });
  }

  /** Tells the requester how their request ended (once per final state). */
  async notifyRequester(request: PromotionRequest): Promise<void> {
    await this.add(`${request.id}.dm.${request.state}`, {
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
  queue: Queue<OutboxMessage>;
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
  const backoff = Math.min(60_000, 1_000 * 2 ** Math.max(0, attempt - 1));
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
  return async (job: Job<OutboxMessage>): Promise<void> => {
    const message = job.data;
    const log = deps.logger.child({ requestId: message.requestId, outbox: message.kind });
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
  };
}

async function deliver(deps: OutboxDeliveryDeps, message: OutboxMessage): Promise<void> {
  switch (message.kind) {
    case "audit":
      await deps.client.chat.postMessage({
        channel: deps.auditChannelId,
        text: message.text,
        blocks: message.blocks,
        unfurl_links: false,
        unfurl_media: false,
      });
      return;
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
