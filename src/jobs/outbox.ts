import type { Queue } from "bullmq";
import {
  type AuditEntry,
  type AuditLog,
  type AuditRecord,
  auditRecord,
} from "../requests/audit-log.js";
import type { ChangeRequest, RequestState } from "../requests/model.js";
import { jobOptions, QUEUE_POLICIES } from "./queues.js";

/**
 * What the outbox asks Slack to show. Jobs carry facts, not rendered text: the Slack adapter
 * (slack/delivery.ts) renders each when it delivers it.
 */
export type OutboxMessage =
  | { kind: "audit"; requestId: string; record: AuditRecord }
  | { kind: "update-approval"; requestId: string }
  | { kind: "dm"; requestId: string; userId: string; state: RequestState };

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
    const policy = queue === this.queues.audit ? QUEUE_POLICIES.audit : QUEUE_POLICIES.outbox;
    await queue.add(message.kind, message, jobOptions(policy, jobId));
  }

  /**
   * Records an audit event: first in the Redis stream (the record), then queued for the audit
   * channel. `key` tells apart repeatable events of one request (refused clicks, approvals).
   */
  async audit(entry: AuditEntry, key?: string): Promise<void> {
    const record = auditRecord(entry);
    await this.auditLog.append(record);
    for (const listener of this.listeners) listener(entry);
    const suffix = key ? `.${key.replace(/[^A-Za-z0-9_.-]/g, "")}` : "";
    await this.add(this.queues.audit, `${record.requestId}.audit.${entry.event}${suffix}`, {
      kind: "audit",
      requestId: record.requestId,
      record,
    });
  }

  /** Has this event of this request been queued for the audit channel? */
  async audited(requestId: string, event: AuditEntry["event"]): Promise<boolean> {
    return (await this.queues.audit.getJob(`${requestId}.audit.${event}`)) !== undefined;
  }

  /** Redraws the approval message from the request's state when the job runs. */
  async updateApproval(request: Pick<ChangeRequest, "id" | "state">, key?: string): Promise<void> {
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
    request: ChangeRequest,
    event: Omit<AuditEntry, "request">,
    options: { tellRequester: boolean },
  ): Promise<void> {
    await this.updateApproval(request);
    if (options.tellRequester) await this.notifyRequester(request);
    await this.audit({ ...event, request });
  }

  /** Tells the requester how their request ended (once per final state). */
  async notifyRequester(request: ChangeRequest): Promise<void> {
    await this.add(this.queues.slack, `${request.id}.dm.${request.state}`, {
      kind: "dm",
      requestId: request.id,
      userId: request.requesterId,
      state: request.state,
    });
  }
}
