import { DelayedError, type Job, type Queue, RateLimitError, UnrecoverableError } from "bullmq";
import { isRetryable, ManagementApiError } from "../auth0/errors.js";
import { errorInWords } from "../error-words.js";
import { type Logger, withRequestId } from "../log.js";
import { type AuditEvent, DONE_EVENTS } from "../requests/audit-log.js";
import { changeKind, type ManagementApi, WRITE_CALLS } from "../requests/changes/index.js";
import type { ChangeRequest } from "../requests/model.js";
import type { RequestStore } from "../requests/store.js";
import type { Outbox } from "./outbox.js";
import type { ChangeJobData } from "./queues.js";

export interface ApplyChangeDeps {
  store: RequestStore;
  /** The Management API of a tenant (for approved changes); undefined for one not configured. */
  auth0For: (tenant: string) => ManagementApi | undefined;
  outbox: Outbox;
  /** The change queue itself, to hold it while Auth0's rate limit resets. */
  queue: Queue<ChangeJobData>;
  /**
   * The last check before a change: do the recorded approvals still hold (enough, not the
   * requester's, every approver still one, asked fresh)? Undefined when they do, else why not.
   */
  approvalsStillHold: (request: ChangeRequest) => Promise<string | undefined>;
  /**
   * The tenant's dry run where the worker runs (DRY_RUN, or the tenant's dryRun): nothing is
   * changed, whatever the request recorded.
   */
  dryRun: (tenant: string) => boolean;
  /**
   * While Auth0 is unavailable (network errors, 5xx, 429) an approved change is tried again for
   * `windowMs` after its first failure, `spacing` apart, and never failed meanwhile.
   */
  retry: { windowMs: number; spacing: { delay: number; maxDelay: number } };
  logger: Logger;
  now?: () => number;
}

type Outcome = { state: "DONE" | "FAILED" | "UNKNOWN"; words: string; dryRun?: boolean };

function isRateLimited(err: unknown): err is ManagementApiError {
  return err instanceof ManagementApiError && err.status === 429;
}

/**
 * Runs one approved request: checks it may still run, its kind reads the target and makes the
 * change (keeping what must be kept), the outcome is recorded once with its audit event and
 * everyone is told. Safe to run again after a crash at any point: the kinds' changes are
 * idempotent and the outcome transition happens once.
 */
export function applyChangeProcessor(deps: ApplyChangeDeps) {
  return (job: Job<ChangeJobData>, token?: string): Promise<string> =>
    withRequestId(job.data.requestId, () => applyChange(deps, job, token));
}

async function applyChange(
  deps: ApplyChangeDeps,
  job: Job<ChangeJobData>,
  token: string | undefined,
): Promise<string> {
  const { requestId } = job.data;
  const log = deps.logger.child({ jobId: job.id, attempt: job.attemptsStarted });
  const request = await deps.store.get(requestId);
  if (!request) throw new UnrecoverableError(`request ${requestId} does not exist`);
  if (request.state === "DONE" || request.state === "FAILED" || request.state === "UNKNOWN") {
    // A previous run recorded the outcome and died before telling anyone: finish telling.
    await announceOutcome(deps, request);
    return request.state;
  }
  if (request.state !== "APPROVED") {
    throw new UnrecoverableError(`request ${requestId} is ${request.state}, not APPROVED`);
  }
  const attemptsLeft = (job.opts.attempts ?? 1) - job.attemptsMade - 1;

  const auth0 = deps.auth0For(request.tenant);
  let refusal: string | undefined;
  if (!auth0) {
    refusal = `its tenant ${request.tenant} is not configured on this worker`;
  } else if ((request.decidedAt ?? 0) > request.expiresAt) {
    refusal = `it was approved after it expired (${new Date(request.expiresAt).toISOString()})`;
  } else {
    try {
      refusal = await deps.approvalsStillHold(request);
    } catch (err) {
      if (attemptsLeft > 0) throw err;
      refusal = `its approvals could not be checked (${errorInWords(err)})`;
    }
  }
  if (refusal || !auth0) {
    const words = `Not applied: ${refusal}. Nothing was changed in Auth0.`;
    log.warn({ refusal }, "approved request refused by the worker's last check");
    await finish(deps, request, { state: "FAILED", words });
    throw new UnrecoverableError(words);
  }

  const where = { kind: request.kind, targetId: request.target.id, action: request.action };
  const killSwitch = deps.dryRun(request.tenant) && !request.dryRun;
  const dryRun = request.dryRun || killSwitch;
  log.info({ ...where, dryRun }, "change started");
  const kind = changeKind(request.kind);
  const api = watchingWrites(auth0);
  let outcome: Outcome;
  try {
    const words = await kind.apply(api, request, { dryRun });
    outcome = killSwitch
      ? { state: "DONE", dryRun: true, words: `DRY_RUN is set where the worker runs. ${words}` }
      : { state: "DONE", words };
    log.info({ ...where, dryRun }, outcome.words);
  } catch (err) {
    if (isRetryable(err)) {
      const until = request.retryingUntil ?? Date.now() + deps.retry.windowMs;
      if (Date.now() < until) await tryAgainLater(deps, job, token, request, until, err);
      log.error({ err }, "Auth0 stayed unavailable for the whole retry window");
      // Only a change that was sent may have been applied unseen.
      outcome = api.wrote()
        ? await checkAgain(api, request, err, windowWords(deps, until))
        : failed(err, windowWords(deps, until));
    } else {
      log.error({ err }, "change failed for good");
      outcome = failed(err);
    }
  }
  await finish(deps, request, outcome);
  if (outcome.state !== "DONE") throw new UnrecoverableError(outcome.words);
  return "DONE";
}

/** The Management API as the kind sees it, noting whether a change was sent. */
function watchingWrites(auth0: ManagementApi): ManagementApi & { wrote(): boolean } {
  let wrote = false;
  const watched: ManagementApi & { wrote(): boolean } = Object.create(auth0);
  const writable = watched as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const call of WRITE_CALLS) {
    const original = (auth0[call] as (...args: unknown[]) => unknown).bind(auth0);
    writable[call] = (...args: unknown[]) => {
      wrote = true;
      return original(...args);
    };
  }
  watched.wrote = () => wrote;
  return watched;
}

function failed(err: unknown, words: (said: string) => string = (said) => said): Outcome {
  return { state: "FAILED", words: words(errorInWords(err)) };
}

function windowWords(deps: ApplyChangeDeps, until: number) {
  const minutes = Math.round(deps.retry.windowMs / 60_000);
  return (said: string) =>
    `Auth0 was unavailable for the whole retry window (${minutes} min, until ${new Date(until).toISOString()}): ${said}. Nothing was changed. Check https://status.auth0.com, then ask again once Auth0 is back.`;
}

/**
 * Auth0 is unavailable: the change is tried again later, without spending an attempt, until the
 * window closes. A 429 holds the whole queue until Auth0's reset (every change waits for the same
 * bucket); anything else puts this job back, the backoff apart. The first time Auth0 is down
 * (not merely rate-limited), the approvers' message and the requester are told, once.
 */
async function tryAgainLater(
  deps: ApplyChangeDeps,
  job: Job<ChangeJobData>,
  token: string | undefined,
  request: ChangeRequest,
  until: number,
  err: unknown,
): Promise<never> {
  const log = deps.logger.child({ jobId: job.id, attempt: job.attemptsStarted });
  if (request.retryingUntil === undefined) {
    await deps.store.annotate(request.id, { retryingUntil: until });
  }
  if (isRateLimited(err)) {
    const wait = Math.max(1_000, err.retryAfterMs ?? 1_000);
    log.warn(
      { waitMs: wait },
      "Auth0 rate limit reached; holding the change queue until it resets",
    );
    await deps.queue.rateLimit(wait);
    throw new RateLimitError();
  }
  const told = { ...request, retryingUntil: until };
  await deps.outbox.updateApproval(told, "unavailable");
  await deps.outbox.notice(told, "unavailable");
  const { delay, maxDelay } = deps.retry.spacing;
  const wait = Math.min(maxDelay, delay * 2 ** Math.max(0, job.attemptsStarted - 1));
  const jittered = Math.round(wait * (0.8 + Math.random() * 0.2));
  log.warn(
    { err, retryInMs: jittered, until: new Date(until).toISOString() },
    "Auth0 is unavailable; trying the change again later",
  );
  await job.moveToDelayed(Date.now() + jittered, token);
  throw new DelayedError();
}

/**
 * Auth0 gave no answer to the change (a timeout, a 5xx, a network error) on the last attempt: it
 * may have been applied all the same. Reads the target again rather than record a failure that
 * did not happen; when even that fails, the outcome is unknown, and said so.
 */
async function checkAgain(
  api: ManagementApi,
  request: ChangeRequest,
  err: unknown,
  words?: (said: string) => string,
) {
  const said = errorInWords(err);
  try {
    if (!(await changeKind(request.kind).isApplied(api, request))) return failed(err, words);
    return {
      state: "DONE",
      words: `${request.target.name}: the change is in place (Auth0 answered the last attempt with "${said}", but reading it again shows it applied).`,
    } satisfies Outcome;
  } catch (again) {
    return {
      state: "UNKNOWN",
      words: `Outcome unknown: check Auth0. The change was sent, Auth0 answered "${said}", and reading ${request.target.name} again failed too (${errorInWords(again)}).`,
    } satisfies Outcome;
  }
}

const OUTCOME_EVENTS: Record<Outcome["state"], (r: ChangeRequest) => AuditEvent> = {
  DONE: (r) => (r.dryRun ? "dry-run" : DONE_EVENTS[r.action]),
  FAILED: () => "failed",
  UNKNOWN: () => "outcome-unknown",
};

async function finish(deps: ApplyChangeDeps, request: ChangeRequest, outcome: Outcome) {
  const dryRun = request.dryRun || outcome.dryRun === true;
  const moved = await deps.store.transition(request.id, "APPROVED", outcome.state, {
    fields: {
      outcome: outcome.words,
      completedAt: (deps.now ?? Date.now)(),
      ...(dryRun ? { dryRun } : {}),
    },
    event: OUTCOME_EVENTS[outcome.state]({ ...request, dryRun }),
    detail: outcome.words,
  });
  // Another run got there first: it announces.
  if (moved.ok) await announceOutcome(deps, moved.request);
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
