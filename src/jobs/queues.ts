import type { Queue } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";

/** Promotions to run: one job per approved request, jobId = request id. */
export const PROMOTE_QUEUE = "promote";
/** Slack writes that must not be lost: approval-message updates and DMs. */
export const OUTBOX_QUEUE = "slack-outbox";
/** Audit lines for the audit channel, one at a time and in order. */
export const AUDIT_QUEUE = "audit-lines";
/** Delayed jobs that expire unanswered requests (jobId = request id). */
export const EXPIRY_QUEUE = "request-expiry";

export interface PromoteJobData {
  requestId: string;
}

/**
 * The promote worker's whole policy in one place. A crashed worker's job is taken up again after
 * the lock lapses (lockDuration) and two stalled checks (stalledInterval): at most ~20 s.
 */
export const PROMOTE_POLICY = {
  attempts: 6,
  backoff: { type: "exponential", delay: 2_000, jitter: 0.5 },
  /** Waits for Auth0's rate limit (RateLimitError) do not count as attempts; bound them too. */
  maxRateLimitWaits: 30,
  lockDuration: 10_000,
  stalledInterval: 5_000,
  maxStalledCount: 3,
  concurrency: 4,
  /** Finished jobs are kept so that a late duplicate add with the same jobId is ignored. */
  keepJobsSeconds: 7 * 24 * 3600,
} as const;

/** Redis for request state and producers: fail fast so a person hears "Redis unreachable". */
export function createRedis(url: string, name: string): Redis {
  const options: RedisOptions = {
    connectionName: name,
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
    enableReadyCheck: true,
  };
  return new Redis(url, options);
}

/**
 * Connection options for BullMQ workers: they block on Redis and must retry for ever (BullMQ
 * requires maxRetriesPerRequest null). Options, not a client, so the worker owns and closes it.
 */
export function workerConnection(url: string, name: string) {
  return { url, connectionName: name, maxRetriesPerRequest: null, enableReadyCheck: true };
}

/**
 * Enqueues the promotion of an approved request. The job id is the request id, so however many
 * times this runs (double clicks, replicas, the reconciler) there is one job.
 */
export async function enqueuePromotion(
  queue: Queue<PromoteJobData>,
  requestId: string,
): Promise<void> {
  await queue.add(
    "promote",
    { requestId },
    {
      jobId: requestId,
      attempts: PROMOTE_POLICY.attempts,
      backoff: { ...PROMOTE_POLICY.backoff },
      removeOnComplete: { age: PROMOTE_POLICY.keepJobsSeconds },
      removeOnFail: { age: PROMOTE_POLICY.keepJobsSeconds },
    },
  );
}
