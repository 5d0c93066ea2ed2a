import { type Job, type Queue, RateLimitError, UnrecoverableError } from "bullmq";
import { isRetryable, ManagementApiError } from "../auth0/errors.js";
import { errorInWords } from "../error-words.js";
import { type Logger, withRequestId } from "../log.js";
import { DONE_EVENTS } from "../requests/audit-log.js";
import { changeKind, type ManagementApi } from "../requests/changes/index.js";
import type { ChangeRequest } from "../requests/model.js";
import type { RequestStore } from "../requests/store.js";
import type { Outbox } from "./outbox.js";
import { type ChangeJobData, QUEUE_POLICIES } from "./queues.js";

export interface ApplyChangeDeps {
  store: RequestStore;
  auth0: ManagementApi;
  outbox: Outbox;
  /** The change queue itself, to hold it while Auth0's rate limit resets. */
  queue: Queue<ChangeJobData>;
  logger: Logger;
  now?: () => number;
}

function isRateLimited(err: unknown): err is ManagementApiError {
  return err instanceof ManagementApiError && err.status === 429;
}

/**
 * Runs one approved request: its kind reads the target and makes the change (keeping what must
 * be kept), the outcome is recorded once and everyone is told. Safe to run again after a crash
 * at any point: the kinds' changes are idempotent and the outcome transition happens once.
 */
export function applyChangeProcessor(deps: ApplyChangeDeps) {
  return (job: Job<ChangeJobData>): Promise<string> =>
    withRequestId(job.data.requestId, () => applyChange(deps, job));
}

async function applyChange(deps: ApplyChangeDeps, job: Job<ChangeJobData>): Promise<string> {
  const now = deps.now ?? Date.now;
  const { requestId } = job.data;
  const log = deps.logger.child({ jobId: job.id, attempt: job.attemptsStarted });
  const request = await deps.store.get(requestId);
  if (!request) throw new UnrecoverableError(`request ${requestId} does not exist`);
  if (request.state === "DONE" || request.state === "FAILED") {
    // A previous run recorded the outcome and died before telling anyone: finish telling.
    await announceOutcome(deps, request);
    return request.state;
  }
  if (request.state !== "APPROVED") {
    throw new UnrecoverableError(`request ${requestId} is ${request.state}, not APPROVED`);
  }

  const where = { kind: request.kind, targetId: request.target.id, action: request.action };
  log.info(where, "change started");
  let outcome: string;
  try {
    outcome = await changeKind(request.kind).apply(deps.auth0, request, {
      dryRun: request.dryRun,
    });
    log.info({ ...where, dryRun: request.dryRun }, outcome);
  } catch (err) {
    if (isRateLimited(err) && job.attemptsStarted <= QUEUE_POLICIES.change.maxRateLimitWaits) {
      const wait = Math.max(1_000, err.retryAfterMs ?? 1_000);
      log.warn(
        { waitMs: wait },
        "Auth0 rate limit reached; holding the change queue until it resets",
      );
      await deps.queue.rateLimit(wait);
      throw new RateLimitError();
    }
    const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
    if (isRetryable(err) && !isRateLimited(err) && attemptsLeft > 0) {
      log.warn({ err, attemptsLeft }, "change failed; will retry");
      throw err;
    }
    const reason = errorInWords(err);
    log.error({ err }, "change failed for good");
    await finish(deps, request, "FAILED", reason, now());
    throw new UnrecoverableError(reason);
  }
  await finish(deps, request, "DONE", outcome, now());
  return "DONE";
}

async function finish(
  deps: ApplyChangeDeps,
  request: ChangeRequest,
  state: "DONE" | "FAILED",
  outcome: string,
  at: number,
): Promise<void> {
  const event =
    state === "FAILED" ? "failed" : request.dryRun ? "dry-run" : DONE_EVENTS[request.action];
  const moved = await deps.store.transition(request.id, "APPROVED", state, {
    fields: { outcome, completedAt: at },
    event,
    detail: outcome,
  });
  if (!moved.ok) {
    // Another run got there first; it announces. Nothing to add.
    return;
  }
  await announceOutcome(deps, moved.request);
}

/**
 * Tells the approvers' message and the requester how it ended (its audit line was recorded with
 * the outcome); their job ids make a second call a no-op.
 */
export async function announceOutcome(
  deps: Pick<ApplyChangeDeps, "outbox">,
  request: ChangeRequest,
) {
  await deps.outbox.settled(request, { tellRequester: true });
}
