import { type Job, type Queue, RateLimitError, UnrecoverableError } from "bullmq";
import { isRetryable, ManagementApiError } from "../auth0/errors.js";
import type { Connection, ManagementClient } from "../auth0/management.js";
import { type Logger, withRequestId } from "../log.js";
import type { PromotionRequest } from "../requests/model.js";
import type { RequestStore } from "../requests/store.js";
import type { Outbox } from "./outbox.js";
import { PROMOTE_POLICY, type PromoteJobData } from "./queues.js";

export interface PromoteDeps {
  store: RequestStore;
  auth0: Pick<ManagementClient, "getConnection" | "setDomainLevel">;
  outbox: Outbox;
  /** The promote queue itself, to hold it while Auth0's rate limit resets. */
  queue: Queue<PromoteJobData>;
  logger: Logger;
  now?: () => number;
}

/** Our errors carry words for people (userMessage); anything else has at least a message. */
interface ErrorWithWords {
  userMessage?: string;
  message: string;
}

/** An Auth0 error in words a person can act on. */
export function errorInWords(err: unknown): string {
  if (err && typeof err === "object") {
    const e = err as ErrorWithWords;
    if (typeof e.userMessage === "string" && e.userMessage) return e.userMessage;
    if (typeof e.message === "string" && e.message) return e.message;
  }
  return String(err);
}

function isRateLimited(err: unknown): err is ManagementApiError {
  return err instanceof ManagementApiError && err.status === 429;
}

/**
 * Runs one approved promotion: read the connection, PATCH it (keeping its display name), check
 * the answer, record the outcome once and tell everyone. Safe to run again after a crash at any
 * point: the PATCH is idempotent and the outcome transition happens once.
 */
export function promoteProcessor(deps: PromoteDeps) {
  return (job: Job<PromoteJobData>): Promise<string> =>
    withRequestId(job.data.requestId, () => runPromotion(deps, job));
}

async function runPromotion(deps: PromoteDeps, job: Job<PromoteJobData>): Promise<string> {
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

  const target = request.action === "promote";
  log.info({ connectionId: request.connectionId, action: request.action }, "promotion started");
  let outcome: string;
  try {
    const current = await deps.auth0.getConnection(request.connectionId);
    if (request.dryRun) {
      outcome = dryRunWords(current, target);
    } else {
      const after =
        current.is_domain_connection === target
          ? current
          : await deps.auth0.setDomainLevel(current, target);
      outcome = changedWords(after, target);
    }
    log.info({ connectionId: request.connectionId, dryRun: request.dryRun }, outcome);
  } catch (err) {
    if (isRateLimited(err) && job.attemptsStarted <= PROMOTE_POLICY.maxRateLimitWaits) {
      const wait = Math.max(1_000, err.retryAfterMs ?? 1_000);
      log.warn(
        { waitMs: wait },
        "Auth0 rate limit reached; holding the promote queue until it resets",
      );
      await deps.queue.rateLimit(wait);
      throw new RateLimitError();
    }
    const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;
    if (isRetryable(err) && !isRateLimited(err) && attemptsLeft > 0) {
      log.warn({ err, attemptsLeft }, "promotion failed; will retry");
      throw err;
    }
    const reason = errorInWords(err);
    log.error({ err }, "promotion failed for good");
    await finish(deps, request, "FAILED", reason, now());
    throw new UnrecoverableError(reason);
  }
  await finish(deps, request, "DONE", outcome, now());
  return "DONE";
}

function changedWords(connection: Connection, target: boolean): string {
  const shown = connection.display_name ? ` (display name "${connection.display_name}" kept)` : "";
  return `${connection.name} is ${target ? "now" : "no longer"} a domain-level connection${shown}.`;
}

function dryRunWords(connection: Connection, target: boolean): string {
  if (connection.is_domain_connection === target) {
    return `Dry run: ${connection.name} is already ${target ? "" : "not "}domain-level; nothing would change.`;
  }
  return `Dry run: would send PATCH /api/v2/connections/${connection.id} with is_domain_connection ${target} and display_name "${connection.display_name ?? connection.name}"; nothing was changed.`;
}

async function finish(
  deps: PromoteDeps,
  request: PromotionRequest,
  state: "DONE" | "FAILED",
  outcome: string,
  at: number,
): Promise<void> {
  const moved = await deps.store.transition(request.id, "APPROVED", state, {
    outcome,
    completedAt: at,
  });
  if (!moved.ok) {
    // Another run got there first; it announces. Nothing to add.
    return;
  }
  await announceOutcome(deps, moved.request);
}

/**
 * The bot enqueues the job before it records the "approved" audit line (so the worker starts at
 * once); the outcome line must still come after it. Waits for it, bounded: a bot that died in
 * between is not waited for long.
 */
async function afterApprovalAudited(outbox: Outbox, request: PromotionRequest): Promise<void> {
  // The bot records it within milliseconds of the approval; an approval older than a few seconds
  // without its line will not get one.
  const deadline = Math.min(Date.now() + 5_000, (request.decidedAt ?? 0) + 10_000);
  while (Date.now() < deadline && !(await outbox.audited(request.id, "approved"))) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Enqueues the outcome's three messages; their job ids make a second call a no-op. */
export async function announceOutcome(
  deps: Pick<PromoteDeps, "outbox">,
  request: PromotionRequest,
) {
  await afterApprovalAudited(deps.outbox, request);
  const done = request.dryRun ? "dry-run" : request.action === "promote" ? "promoted" : "demoted";
  await deps.outbox.settled(
    request,
    {
      event: request.state === "DONE" ? done : "failed",
      actorId: undefined,
      at: request.completedAt ?? Date.now(),
      detail: request.outcome,
    },
    { tellRequester: true },
  );
}
