import type { JobsOptions, Queue, WorkerOptions } from "bullmq";

/** What one queue does with its jobs: retries, locks, retention. Data, read in one place. */
export interface QueuePolicy {
  /** The BullMQ queue name. Stable: jobs already in Redis carry it. */
  name: string;
  /** Attempts per job (BullMQ's waits for a rate limit, RateLimitError, do not count). */
  attempts: number;
  backoff?: { type: "exponential"; delay: number; jitter?: number };
  /**
   * How long a passing failure (a 429, a 5xx, a network error) holds the whole queue: doubling
   * from `delay` with each attempt, up to `maxDelay`. For queues whose order matters.
   */
  holdBackoff?: { delay: number; maxDelay: number };
  /**
   * How long to wait between tries while Auth0 is unavailable (network errors, 5xx), doubling
   * from `delay` up to `maxDelay`, for as long as AUTH0_RETRY_WINDOW lasts: so that a change
   * lands within `maxDelay` of Auth0's return. These tries do not count as attempts.
   */
  retryBackoff?: { delay: number; maxDelay: number };
  /** Jobs a worker process runs at once. */
  concurrency: number;
  /** Jobs run at once across every process (undefined: no limit beyond concurrency). */
  globalConcurrency?: number;
  /** How long a worker's hold on a job lasts without renewal: a dead worker's job waits this long. */
  lockDuration: number;
  /** How often workers look for jobs whose lock lapsed. */
  stalledInterval: number;
  /** Times a job may stall before it fails. */
  maxStalledCount: number;
  /**
   * Finished jobs are kept this long, so that a late duplicate add with the same job id (a
   * double click, the reconciler) is ignored rather than run again.
   */
  keepJobsSeconds: number;
}

const WEEK_SECONDS = 7 * 24 * 3600;

/** Slack writes go one at a time across every process, so they keep their order. */
const SLACK_WRITES = {
  // Failures are held (RateLimitError) or final (UnrecoverableError): never retried as attempts.
  attempts: 1,
  holdBackoff: { delay: 500, maxDelay: 30_000 },
  concurrency: 1,
  globalConcurrency: 1,
  // A dead process's job holds the queue's one slot until its lock lapses: keep that short.
  lockDuration: 6_000,
  stalledInterval: 3_000,
  maxStalledCount: 5,
  keepJobsSeconds: WEEK_SECONDS,
} as const;

/** Delayed jobs that fire at a moment of a request's life (jobId = request id). */
const REQUEST_TIMERS = {
  attempts: 10,
  backoff: { type: "exponential", delay: 1_000 },
  concurrency: 4,
  lockDuration: 30_000,
  stalledInterval: 30_000,
  maxStalledCount: 1,
  keepJobsSeconds: WEEK_SECONDS,
} as const;

/**
 * Every queue's policy. A crashed worker's job is taken up again after its lock lapses
 * (lockDuration) and a stalled check (stalledInterval): for changes within ~9 s. A live worker
 * renews its lock every lockDuration / 2, so an event loop blocked for longer than that could
 * let a second worker start the same job; the changes are idempotent and their outcome is
 * recorded once, so that costs at most a repeated read.
 */
export const QUEUE_POLICIES = {
  /** Approved changes to apply: one job per request, jobId = request id. */
  change: {
    name: "promote",
    attempts: 6,
    backoff: { type: "exponential", delay: 2_000, jitter: 0.5 },
    retryBackoff: { delay: 2_000, maxDelay: 30_000 },
    concurrency: 4,
    lockDuration: 6_000,
    stalledInterval: 3_000,
    maxStalledCount: 3,
    keepJobsSeconds: WEEK_SECONDS,
  },
  /** Slack writes that must not be lost: approval-message updates and DMs, in order. */
  outbox: { name: "slack-outbox", ...SLACK_WRITES },
  /** Audit lines for the audit channel: their own queue, one at a time and in order. */
  audit: { name: "audit-lines", ...SLACK_WRITES },
  /** Delayed jobs that expire unanswered requests (jobId = request id). */
  expiry: { name: "request-expiry", ...REQUEST_TIMERS },
  /**
   * Delayed jobs that remind a pending request's approvers, once (jobId = request id). The job
   * only queues the reminder in the outbox; the outbox posts it, at most once.
   */
  reminder: { name: "request-reminder", ...REQUEST_TIMERS },
} as const satisfies Record<string, QueuePolicy>;

export type QueueRole = keyof typeof QUEUE_POLICIES;

export const CHANGE_QUEUE = QUEUE_POLICIES.change.name;
export const OUTBOX_QUEUE = QUEUE_POLICIES.outbox.name;
export const AUDIT_QUEUE = QUEUE_POLICIES.audit.name;
export const EXPIRY_QUEUE = QUEUE_POLICIES.expiry.name;
export const REMINDER_QUEUE = QUEUE_POLICIES.reminder.name;

/** Options for adding a job under a policy. */
export function jobOptions(policy: QueuePolicy, jobId: string, delay?: number): JobsOptions {
  return {
    jobId,
    attempts: policy.attempts,
    ...(policy.backoff ? { backoff: { ...policy.backoff } } : {}),
    ...(delay === undefined ? {} : { delay }),
    removeOnComplete: { age: policy.keepJobsSeconds },
    removeOnFail: { age: policy.keepJobsSeconds },
  };
}

/** The worker-side half of a policy. */
export function workerOptions(
  policy: QueuePolicy,
): Pick<WorkerOptions, "concurrency" | "lockDuration" | "stalledInterval" | "maxStalledCount"> {
  return {
    concurrency: policy.concurrency,
    lockDuration: policy.lockDuration,
    stalledInterval: policy.stalledInterval,
    maxStalledCount: policy.maxStalledCount,
  };
}

export interface ChangeJobData {
  requestId: string;
}

/**
 * Enqueues an approved request's change. The job id is the request id, so however many times
 * this runs (double clicks, replicas, the reconciler) there is one job.
 */
export async function enqueueChange(queue: Queue<ChangeJobData>, requestId: string) {
  await queue.add("promote", { requestId }, jobOptions(QUEUE_POLICIES.change, requestId));
}
