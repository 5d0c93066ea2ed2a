/**
 * Paces calls so they stay inside Auth0's token bucket instead of bouncing off it with 429s.
 *
 * Auth0 keeps, per tenant, a bucket of `burst` requests refilled at `perSecond`, full at first.
 * This limiter runs the same bucket locally, one request behind Auth0's (RESERVE), so that
 * network jitter never makes a request arrive before Auth0 has a token for it. It then
 * corrects itself from what Auth0 reports:
 *
 * - The first request (and the first after any pause) goes alone; its `x-ratelimit-remaining`
 *   tells how full Auth0's bucket really is (another process may have drained it), and only
 *   then do the others follow, as many as that answer allows.
 * - Any later answer that shows clearly fewer tokens than we believe lowers our count.
 * - A 429 holds every request until Auth0's reset time, then re-measures as at the start; it
 *   also halves the pace (the configured one is evidently too fast, or someone else shares
 *   the bucket), which is won back while Auth0 reports tokens to spare.
 *
 * Waiting is done with one timer set to the exact next slot; requests go in FIFO order.
 */

export interface RateLimiterOptions {
  /** Sustained requests per second Auth0 allows (the bucket's refill rate). */
  perSecond: number;
  /** Bucket size Auth0 allows (default: perSecond). */
  burst?: number;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
  /**
   * How long to hold others while the first request's answer is awaited, if observe() is
   * never called (default: max(1 s, two slots)).
   */
  probeTimeoutMs?: number;
  /** The most of the pace lookups may use, so approved changes always have room (default 0.5). */
  lookupShare?: number;
  /** Lookups waiting at once; one more is turned away (default 500; the wait bound comes first). */
  maxLookupsWaiting?: number;
  /** A lookup that would wait longer is turned away at once, with when to try (default 5 s). */
  maxLookupWaitMs?: number;
}

/**
 * Who is asking. Approved changes go first and may use the whole pace; lookups made for people
 * (a new request, a status) get a bounded share and a bounded queue, and are turned away with
 * LimiterBusyError rather than left hanging.
 */
export type CallPriority = "change" | "lookup";

/** A lookup turned away because Auth0's budget is taken; try again after `retryAfterMs`. */
export class LimiterBusyError extends Error {
  override readonly name = "LimiterBusyError";
  constructor(readonly retryAfterMs: number) {
    super(`Auth0 is busy with approved changes; try again in ${Math.ceil(retryAfterMs / 1000)} s`);
  }
}

interface Waiter {
  resolve: () => void;
}

/** What the Management API client needs of a pacer: RateLimiter in memory, SharedBudget in Redis. */
export interface CallBudget {
  /** Resolves when the call may go; with the grant's number when the budget numbers its grants. */
  acquire(priority?: CallPriority): Promise<number | undefined>;
  /** What the answer said; `grant` is what acquire gave for that call. */
  observe(info: RateLimitObservation, grant?: number): void;
  pauseUntil(epochMs: number): void;
}

export interface RateLimitObservation {
  /** x-ratelimit-limit: the bucket size. */
  limit?: number;
  /** x-ratelimit-remaining: tokens left after this request. */
  remaining?: number;
  /** x-ratelimit-reset: UNIX seconds at which the bucket is full again. */
  resetSec?: number;
}

/** Requests kept in hand below Auth0's bucket, so a late packet does not cost a 429. */
const RESERVE = 1;
/** Share of the configured pace won back per successful answer after a 429. */
const RECOVERY = 1 / 128;
/** The pace never drops below this share of the configured one. */
const MIN_PACE = 1 / 16;
/** A pause longer than this is a clock problem, not a rate limit. */
const MAX_PAUSE_MS = 60_000;

type ProbeState = "needed" | "in-flight" | "done";

export class RateLimiter {
  private readonly configuredPerMs: number;
  /** The pace in use: the configured one, halved by each 429 and regained slowly. */
  private perMs: number;
  private readonly configuredCapacity: number;
  private capacity: number;
  private tokens: number;
  private updatedAt: number;
  private pausedUntilMs = 0;
  private probe: ProbeState = "needed";
  private probeDeadline = 0;
  private readonly probeTimeoutMs: number;
  private readonly changes: Waiter[] = [];
  private readonly lookups: Waiter[] = [];
  private readonly lookupShare: number;
  private readonly maxLookupsWaiting: number;
  private readonly maxLookupWaitMs: number;
  /** Lookups' own allowance, refilled at lookupShare of the pace. */
  private lookupTokens: number;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private readonly now: () => number;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.perSecond > 0)) throw new RangeError("perSecond must be positive");
    const burst = opts.burst ?? opts.perSecond;
    if (!(burst >= 1)) throw new RangeError("burst must be at least 1");
    this.now = opts.now ?? (() => Date.now());
    this.configuredPerMs = opts.perSecond / 1000;
    this.perMs = this.configuredPerMs;
    this.configuredCapacity = Math.max(1, Math.floor(burst) - RESERVE);
    this.capacity = this.configuredCapacity;
    this.tokens = this.capacity;
    this.updatedAt = this.now();
    this.probeTimeoutMs = opts.probeTimeoutMs ?? Math.max(1000, 2000 / opts.perSecond);
    this.lookupShare = Math.min(1, Math.max(0.05, opts.lookupShare ?? 0.5));
    this.maxLookupsWaiting = opts.maxLookupsWaiting ?? 500;
    this.maxLookupWaitMs = opts.maxLookupWaitMs ?? 5_000;
    this.lookupTokens = this.lookupCapacity();
  }

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.changes.length + this.lookups.length;
  }

  /** Epoch ms until which every request is held (0 when not paused). */
  get pausedUntil(): number {
    return this.pausedUntilMs > this.now() ? this.pausedUntilMs : 0;
  }

  /**
   * Resolves when the caller may send its request: changes first, each kind in FIFO order. A
   * lookup that would wait too long, or find too many ahead, is rejected with LimiterBusyError.
   */
  acquire(priority: CallPriority = "change"): Promise<number | undefined> {
    if (priority === "lookup") {
      const wait = this.lookupWaitEstimate();
      if (this.lookups.length >= this.maxLookupsWaiting || wait > this.maxLookupWaitMs) {
        return Promise.reject(new LimiterBusyError(Math.max(1_000, wait)));
      }
    }
    // In memory there is no order to tell answers apart by: no grant number.
    return new Promise<number | undefined>((resolve) => {
      (priority === "lookup" ? this.lookups : this.changes).push({
        resolve: () => resolve(undefined),
      });
      this.drain();
    });
  }

  private lookupCapacity(): number {
    return Math.max(1, this.capacity * this.lookupShare);
  }

  /** About how long a new lookup would wait: everything ahead of it, at the lookups' pace. */
  private lookupWaitEstimate(): number {
    const t = this.now();
    this.refill(t);
    const ahead = this.changes.length + this.lookups.length;
    const short = ahead + 1 - Math.min(this.tokens, this.lookupTokens);
    const paused = Math.max(0, this.pausedUntilMs - t);
    return paused + Math.max(0, short) / (this.perMs * this.lookupShare);
  }

  /**
   * What Auth0 said about its bucket in an answer. Call it once per acquired request, also
   * with `{}` when no answer came (network error), so a waiting first request is released.
   */
  observe(info: RateLimitObservation): void {
    const t = this.now();
    this.refill(t);
    const syncing = this.probe === "in-flight";
    if (syncing) this.probe = "done";
    const { limit, remaining } = info;
    if (isCount(limit) && limit > 0) {
      // Auth0 knows its bucket size better than our configuration does.
      this.capacity = Math.max(1, limit - RESERVE);
      this.tokens = Math.min(this.tokens, this.capacity);
    }
    if (isCount(remaining)) {
      if (remaining >= Math.min(RESERVE + 1, this.capacity)) {
        // Auth0 has tokens to spare (or a full small bucket): win back some of the pace a
        // 429 cost.
        this.perMs = Math.min(this.configuredPerMs, this.perMs + this.configuredPerMs * RECOVERY);
      }
      if (syncing) {
        // Nothing else was sent while the first request was out: Auth0's count is the truth.
        this.tokens = Math.min(this.capacity, remaining - RESERVE);
      } else if (this.tokens > remaining + 1) {
        // Auth0 holds fewer than `remaining + 1` tokens. A shortfall of up to one token is
        // rounding and jitter, already covered by the reserve; more means someone else is
        // drawing from the same bucket: believe Auth0.
        this.tokens = remaining + 1 - RESERVE;
      }
    }
    this.drain();
  }

  /**
   * Auth0 answered 429: holds every request until epochMs (its reset), then re-measures. A 429
   * means the configured pace is more than the tenant allows (or something else shares the
   * bucket), so the pace is also halved, and regained over the next answers.
   */
  pauseUntil(epochMs: number): void {
    const t = this.now();
    this.refill(t);
    this.perMs = Math.max(this.configuredPerMs * MIN_PACE, this.perMs / 2);
    const until = Math.min(epochMs, t + MAX_PAUSE_MS);
    if (until > this.pausedUntilMs) this.pausedUntilMs = until;
    // By the reset Auth0 has refilled at least one token: one request goes then, and its
    // answer says how many more may follow.
    this.tokens = 1;
    this.probe = "needed";
    this.drain();
  }

  private refill(t: number): void {
    if (t > this.updatedAt) {
      // While paused the bucket is known to be empty; refill starts when the pause ends.
      const from = Math.max(this.updatedAt, Math.min(this.pausedUntilMs, t));
      this.tokens = Math.min(this.capacity, this.tokens + (t - from) * this.perMs);
      this.lookupTokens = Math.min(
        this.lookupCapacity(),
        this.lookupTokens + (t - from) * this.perMs * this.lookupShare,
      );
      this.updatedAt = t;
    }
  }

  private drain(): void {
    while (this.waiting > 0) {
      const wake = this.releaseOne();
      if (wake !== undefined) {
        this.wakeAt(wake);
        return;
      }
    }
    this.clearTimer();
  }

  /** Lets the first waiter go, or says when to look again. */
  private releaseOne(): number | undefined {
    const t = this.now();
    if (t < this.pausedUntilMs) return this.pausedUntilMs;
    if (this.probe === "in-flight") {
      if (t < this.probeDeadline) return this.probeDeadline;
      this.probe = "done"; // no answer came back; carry on from our own count
    }
    this.refill(t);
    if (this.tokens < 1) return t + Math.max(1, Math.ceil((1 - this.tokens) / this.perMs));
    const change = this.changes.length > 0;
    if (!change && this.lookupTokens < 1) {
      const lookupPerMs = this.perMs * this.lookupShare;
      return t + Math.max(1, Math.ceil((1 - this.lookupTokens) / lookupPerMs));
    }
    this.tokens -= 1;
    // A lookup spends its own allowance too; a change spends only the shared bucket.
    if (!change) this.lookupTokens -= 1;
    if (this.probe === "needed") {
      this.probe = "in-flight";
      this.probeDeadline = t + this.probeTimeoutMs;
    }
    (change ? this.changes : this.lookups).shift()?.resolve();
    return undefined;
  }

  private wakeAt(epochMs: number): void {
    if (this.timer && this.timerAt === epochMs) return;
    this.clearTimer();
    this.timerAt = epochMs;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.drain();
      },
      Math.max(1, epochMs - this.now()),
    );
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function isCount(value: number | undefined): value is number {
  return value !== undefined && Number.isFinite(value) && value >= 0;
}
