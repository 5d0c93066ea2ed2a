import type { Job, Queue } from "bullmq";
import { type Logger, withRequestId } from "../log.js";
import type { RequestStore } from "../requests/store.js";
import type { Outbox } from "./outbox.js";
import { jobOptions, QUEUE_POLICIES } from "./queues.js";

export interface ExpiryJobData {
  requestId: string;
}

/** Schedules the end of a request's life: a delayed job that fires when it expires. */
export async function scheduleExpiry(
  queue: Queue<ExpiryJobData>,
  requestId: string,
  expiresAt: number,
  now = Date.now(),
): Promise<void> {
  const delay = Math.max(0, expiresAt - now);
  await queue.add("expire", { requestId }, jobOptions(QUEUE_POLICIES.expiry, requestId, delay));
}

export interface ExpiryDeps {
  store: RequestStore;
  outbox: Outbox;
  logger: Logger;
}

/**
 * An unanswered request becomes EXPIRED: buttons removed, requester told, audited. A request that
 * was decided, cancelled or already approved in the meantime is left as it is.
 */
export function expiryProcessor(deps: ExpiryDeps) {
  return (job: Job<ExpiryJobData>): Promise<string> =>
    withRequestId(job.data.requestId, () => expire(deps, job));
}

async function expire(deps: ExpiryDeps, job: Job<ExpiryJobData>): Promise<string> {
  const moved = await deps.store.transition(job.data.requestId, "PENDING", "EXPIRED");
  if (!moved.ok) {
    return moved.reason === "conflict"
      ? moved.current
      : moved.reason === "expired"
        ? "EXPIRED"
        : "missing";
  }
  deps.logger.info("request expired");
  await deps.outbox.settled(moved.request, { tellRequester: true });
  return "EXPIRED";
}
