import type { Queue } from "bullmq";
import type { AuditRecord } from "../requests/audit-log.js";
import type { ChangeRequest, RequestState } from "../requests/model.js";
import { jobOptions, QUEUE_POLICIES } from "./queues.js";

/**
 * What the outbox asks Slack to show. Jobs carry facts, not rendered text: the Slack adapter
 * (slack/delivery.ts) renders each when it delivers it. Audit lines are not queued here: the
 * audit relay reads them from the stream (slack/audit-relay.ts); the "audit" kind only drains
 * jobs queued by earlier versions.
 */
export type OutboxMessage =
  | { kind: "audit"; requestId: string; record: AuditRecord }
  | { kind: "update-approval"; requestId: string }
  | { kind: "dm"; requestId: string; userId: string; state: RequestState }
  /** Reminds a pending request's approvers in the approval message's thread (once). */
  | { kind: "remind"; requestId: string };

/**
 * Enqueues Slack writes: approval-message updates and DMs. Job ids are derived from the request
 * and the event, so a step that runs twice (a retried job, a restarted worker) enqueues its
 * messages once.
 */
export class Outbox {
  constructor(private readonly queue: Queue<OutboxMessage>) {}

  private async add(jobId: string, message: OutboxMessage) {
    await this.queue.add(message.kind, message, jobOptions(QUEUE_POLICIES.outbox, jobId));
  }

  /** Redraws the approval message from the request's state when the job runs. */
  async updateApproval(request: Pick<ChangeRequest, "id" | "state">, key?: string): Promise<void> {
    await this.add(`${request.id}.update.${key ?? request.state}`, {
      kind: "update-approval",
      requestId: request.id,
    });
  }

  /**
   * A request left PENDING or APPROVED for good (its audit event was recorded with the change):
   * its approval message is redrawn and the requester told, unless they did it themselves.
   */
  async settled(request: ChangeRequest, options: { tellRequester: boolean }): Promise<void> {
    await this.updateApproval(request);
    if (options.tellRequester) await this.notifyRequester(request);
  }

  /**
   * Tells the requester where their request stands, once per `key` (Auth0 unavailable: the
   * change is being retried until …).
   */
  async notice(request: ChangeRequest, key: string): Promise<void> {
    await this.add(`${request.id}.dm.${key}`, {
      kind: "dm",
      requestId: request.id,
      userId: request.requesterId,
      state: request.state,
    });
  }

  /**
   * Reminds the approvers of a pending request. One job per request, however many times this
   * runs; the delivery posts it only if the request is still pending then, and never twice.
   */
  async remind(request: Pick<ChangeRequest, "id">): Promise<void> {
    await this.add(`${request.id}.remind`, { kind: "remind", requestId: request.id });
  }

  /** Tells the requester how their request ended (once per final state). */
  async notifyRequester(request: ChangeRequest): Promise<void> {
    await this.add(`${request.id}.dm.${request.state}`, {
      kind: "dm",
      requestId: request.id,
      userId: request.requesterId,
      state: request.state,
    });
  }
}
