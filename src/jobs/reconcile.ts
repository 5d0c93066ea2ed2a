import type { Queue } from "bullmq";
import type { Logger } from "../log.js";
import type { RequestStore } from "../requests/store.js";
import type { Outbox } from "./outbox.js";
import { announceOutcome } from "./promote-processor.js";
import { enqueuePromotion, type PromoteJobData } from "./queues.js";

export interface ReconcileDeps {
  store: RequestStore;
  queue: Queue<PromoteJobData>;
  outbox: Outbox;
  logger: Logger;
  now?: () => number;
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
      await enqueuePromotion(deps.queue, id);
      continue;
    }
    if (await job.isFailed()) {
      const outcome = `the promotion job stopped without finishing (${job.failedReason || "unknown reason"})`;
      const moved = await deps.store.transition(id, "APPROVED", "FAILED", {
        outcome,
        completedAt: now,
      });
      if (moved.ok) await announceOutcome(deps, moved.request);
    }
  }
}
