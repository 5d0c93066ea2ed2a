import type { Queue } from "bullmq";
import type { Logger } from "../log.js";
import { wordsOf } from "../requests/changes/index.js";
import type { RequestStore } from "../requests/store.js";
import { announceOutcome } from "./apply-change.js";
import { type ExpiryJobData, scheduleExpiry } from "./expiry.js";
import type { Outbox } from "./outbox.js";
import { type ChangeJobData, enqueueChange } from "./queues.js";
import { type ReminderJobData, scheduleReminder } from "./reminder.js";

export interface ReconcileDeps {
  store: RequestStore;
  queue: Queue<ChangeJobData>;
  expiryQueue: Queue<ExpiryJobData>;
  /** Reminders' queue; without it, lost reminder jobs are not looked for. */
  reminderQueue?: Queue<ReminderJobData>;
  outbox: Outbox;
  logger: Logger;
  now?: () => number;
}

/**
 * Pending requests end by their time, whether or not their expiry job runs: an overdue one is
 * expired here (its approvers' message redrawn, the requester told). Every other pending request
 * must have its expiry job, and its reminder job until it has been reminded (the bot schedules
 * them right after creating the request, and could die in between); a missing one is scheduled
 * again (same jobId).
 */
export async function reconcilePending(deps: ReconcileDeps): Promise<void> {
  const now = (deps.now ?? Date.now)();
  for (const id of await deps.store.idsInState("PENDING", 1_000)) {
    const request = await deps.store.get(id);
    if (!request) continue;
    if (now >= request.expiresAt) {
      const moved = await deps.store.transition(id, "PENDING", "EXPIRED");
      if (moved.ok) {
        deps.logger.info({ requestId: id }, "overdue request expired by the reconciler");
        await deps.outbox.settled(moved.request, { tellRequester: true });
      }
      continue;
    }
    if (request.createdAt > now - 10_000) continue;
    if (!(await deps.expiryQueue.getJob(id))) {
      deps.logger.warn({ requestId: id }, "pending request had no expiry job; scheduling it");
      await scheduleExpiry(deps.expiryQueue, id, request.expiresAt, now);
    }
    // Not yet reminded, and its job gone (never added, or dropped): scheduled again, same jobId.
    // Once posted, remindedAt is set for good and the delivery refuses a second post anyway.
    const reminders = deps.reminderQueue;
    if (reminders && request.remindAt !== undefined && request.remindedAt === undefined) {
      if (!(await reminders.getJob(id))) {
        deps.logger.warn({ requestId: id }, "pending request had no reminder job; scheduling it");
        await scheduleReminder(reminders, id, request.remindAt, now);
      }
    }
  }
}

/**
 * Approved requests must each have a job. The bot moves a request to APPROVED and then enqueues;
 * if it died between the two, or BullMQ gave a job up (stalled too often), this puts it right:
 * a missing job is added (same jobId, so never twice), a job that failed without recording an
 * outcome fails the request in words.
 */
export async function reconcileApproved(deps: ReconcileDeps): Promise<void> {
  const now = (deps.now ?? Date.now)();
  for (const id of await deps.store.idsInState("APPROVED", 500)) {
    const request = await deps.store.get(id);
    // Leave fresh approvals alone: the bot is probably enqueueing them right now.
    if (!request || (request.decidedAt ?? 0) > now - 10_000) continue;
    const job = await deps.queue.getJob(id);
    if (!job) {
      deps.logger.warn({ requestId: id }, "approved request had no job; enqueueing it");
      await enqueueChange(deps.queue, id);
      continue;
    }
    if (await job.isFailed()) {
      const noun = wordsOf(request).noun.toLowerCase();
      const outcome = `the ${noun} job stopped without finishing (${job.failedReason || "unknown reason"})`;
      const moved = await deps.store.transition(id, "APPROVED", "FAILED", {
        fields: { outcome, completedAt: now },
        event: "failed",
        detail: outcome,
      });
      if (moved.ok) await announceOutcome(deps, moved.request);
    }
  }
}
