import type { ClientContext, Result } from "ioredis";
import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import {
  type CallPriority,
  LimiterBusyError,
  type RateLimiter,
  type RateLimitObservation,
} from "./rate-limiter.js";
import { OBSERVE, PAUSE, TAKE } from "./shared-budget-scripts.js";

/**
 * One Management API budget per tenant for every process (bot and workers, every replica): a
 * token bucket kept in Redis and changed only by atomic Lua scripts, on Redis's clock. It mirrors
 * Auth0's own bucket, its size one request short (RESERVE), and learns it from Auth0's answers, with
 * nothing configured:
 *
 * - size from `x-ratelimit-limit`; tokens left from `x-ratelimit-remaining`, less the calls
 *   the fleet has in flight (counted in the budget), which Auth0 had not seen yet; grants are
 *   numbered, and an answer to a call granted before one already answered (answers overtake each
 *   other between processes) may only lower the count;
 * - refill rate from `x-ratelimit-reset` (when Auth0's bucket is full again): tokens missing
 *   divided by time to the reset. Auth0 gives the reset in whole seconds, rounded up, so each
 *   estimate is at most the true rate; the budget keeps the best one seen;
 * - a fresh budget (or one after a pause) lets one request go alone and waits for its answer
 *   before the others follow: a 0.5 requests/s tenant is not flooded at start;
 * - a 429 pauses every process until Auth0's reset and halves the rate, and the rate then
 *   learnt may not climb past 90 % of what caused the 429;
 * - AUTH0_MAX_REQUESTS_PER_SECOND, when set, is only a ceiling.
 *
 * Approved changes go first: while a change waits anywhere in the fleet, lookups made for people
 * wait too, and lookups never take the part of the bucket kept for changes (1 - the lookup share
 * of it); a lookup that would wait too long is
 * turned away at once with LimiterBusyError. Within a process, callers queue FIFO by priority and
 * only the head of each queue asks Redis. If Redis fails, the process falls back to its own
 * in-memory limiter rather than stopping.
 */

export interface SharedBudgetOptions {
  redis: RedisClient;
  /** The Redis key of this tenant's budget. */
  key: string;
  /** AUTH0_MAX_REQUESTS_PER_SECOND: a ceiling, when set. */
  maxPerSecond?: number;
  /** The in-memory limiter used while Redis does not answer. */
  fallback: RateLimiter;
  logger?: Logger;
  /** Default 0.5. */
  lookupShare?: number;
  /** Lookups waiting in this process; one more is turned away (default 500). */
  maxLookupsWaiting?: number;
  /** Default 5 s. */
  maxLookupWaitMs?: number;
  /** How long others wait for a probe's answer (default 2 s). */
  probeTimeoutMs?: number;
}

/** Counters for /metrics. */
export interface BudgetStats {
  /** Tokens the budget believed left after its latest decision. */
  tokens: number;
  /** Its latest refill rate, per second. */
  perSecond: number;
  /** 429s that paused the fleet, as seen by this process. */
  pauses: number;
  /** Time this process's calls spent waiting for the budget. */
  waitedMs: number;
}

interface Waiter {
  resolve: (grant?: number) => void;
  reject: (err: unknown) => void;
  since: number;
}

export class SharedBudget {
  readonly stats: BudgetStats = { tokens: 0, perSecond: 0, pauses: 0, waitedMs: 0 };
  private readonly queues: Record<CallPriority, Waiter[]> = { change: [], lookup: [] };
  private readonly pumping: Record<CallPriority, boolean> = { change: false, lookup: false };
  private readonly share: number;
  private readonly ceilingPerMs: number;
  /** While Redis does not answer, this process paces itself with the fallback until then. */
  private failingUntil = 0;

  private get redisFailing(): boolean {
    return Date.now() < this.failingUntil;
  }

  constructor(private readonly opts: SharedBudgetOptions) {
    this.share = Math.min(1, Math.max(0.05, opts.lookupShare ?? 0.5));
    this.ceilingPerMs = opts.maxPerSecond ? opts.maxPerSecond / 1000 : 0;
    const { redis } = opts;
    if (!redis.budgetTake) {
      redis.defineCommand("budgetTake", { numberOfKeys: 1, lua: TAKE });
      redis.defineCommand("budgetObserve", { numberOfKeys: 1, lua: OBSERVE });
      redis.defineCommand("budgetPause", { numberOfKeys: 1, lua: PAUSE });
    }
  }

  get waiting(): number {
    return this.queues.change.length + this.queues.lookup.length;
  }

  /**
   * Resolves when the caller may send its request, changes before lookups, with the grant's
   * number (none while Redis does not answer): give it back to observe() with the answer.
   */
  acquire(priority: CallPriority = "change"): Promise<number | undefined> {
    if (this.redisFailing) return this.opts.fallback.acquire(priority);
    if (
      priority === "lookup" &&
      this.queues.lookup.length >= (this.opts.maxLookupsWaiting ?? 500)
    ) {
      return Promise.reject(new LimiterBusyError(this.lookupWaitEstimate()));
    }
    return new Promise<number | undefined>((resolve, reject) => {
      this.queues[priority].push({ resolve, reject, since: Date.now() });
      void this.pump(priority);
    });
  }

  observe(info: RateLimitObservation, grant?: number): void {
    if (this.redisFailing) {
      this.opts.fallback.observe(info);
      return;
    }
    const arg = (v: number | undefined) =>
      v === undefined || !Number.isFinite(v) ? "" : String(v);
    this.opts.redis
      .budgetObserve(
        this.opts.key,
        arg(info.limit),
        arg(info.remaining),
        arg(info.resetSec),
        String(this.share),
        String(this.ceilingPerMs),
        arg(grant),
      )
      .then((tokens) => {
        this.stats.tokens = Number(tokens);
      })
      .catch((err: unknown) => this.failing(err))
      .finally(() => {
        // An answer may let the head of either queue go sooner than it planned.
        void this.pump("change");
        void this.pump("lookup");
      });
  }

  pauseUntil(epochMs: number): void {
    this.stats.pauses++;
    this.opts.fallback.pauseUntil(epochMs);
    if (this.redisFailing) return;
    this.opts.redis
      .budgetPause(this.opts.key, String(epochMs), String(this.share))
      .catch((err: unknown) => this.failing(err));
  }

  /** Asks Redis for the head of a queue until it may go; one asker per queue per process. */
  private async pump(priority: CallPriority): Promise<void> {
    if (this.pumping[priority]) return;
    this.pumping[priority] = true;
    try {
      const queue = this.queues[priority];
      while (queue.length > 0) {
        // Changes first within the process too: lookups wait while a change does.
        if (priority === "lookup" && this.queues.change.length > 0) {
          await sleep(20);
          continue;
        }
        const head = queue[0] as Waiter;
        let granted: boolean;
        let waitMs: number;
        let grant: number;
        try {
          [granted, waitMs, grant] = await this.take(priority);
        } catch (err) {
          this.failing(err);
          for (const w of queue.splice(0)) {
            this.opts.fallback.acquire(priority).then(() => w.resolve(), w.reject);
          }
          return;
        }
        if (granted) {
          queue.shift();
          this.stats.waitedMs += Date.now() - head.since;
          head.resolve(grant);
          continue;
        }
        if (priority === "lookup" && Date.now() - head.since + waitMs > this.maxLookupWaitMs()) {
          queue.shift();
          head.reject(new LimiterBusyError(Math.max(1_000, waitMs)));
          continue;
        }
        // A little spread, so that processes waiting for the same slot do not all ask at once.
        await sleep(Math.max(1, waitMs) + Math.random() * 5);
      }
    } finally {
      this.pumping[priority] = false;
    }
  }

  private async take(priority: CallPriority): Promise<[boolean, number, number]> {
    const [granted, wait, tokens, perSecond, grant] = (await this.opts.redis.budgetTake(
      this.opts.key,
      priority,
      String(this.share),
      String(this.opts.probeTimeoutMs ?? 2_000),
      String(this.ceilingPerMs),
    )) as [number, number, string, string, number];
    this.stats.tokens = Number(tokens);
    this.stats.perSecond = Number(perSecond);
    if (this.failingUntil > 0) {
      this.failingUntil = 0;
      this.opts.logger?.info("the shared Auth0 budget answers again");
    }
    return [Number(granted) === 1, Number(wait), Number(grant)];
  }

  private maxLookupWaitMs(): number {
    return this.opts.maxLookupWaitMs ?? 5_000;
  }

  private lookupWaitEstimate(): number {
    const perSecond = Math.max(0.05, this.stats.perSecond * this.share);
    return Math.max(1_000, ((this.waiting + 1) / perSecond) * 1000);
  }

  private failing(err: unknown): void {
    if (this.failingUntil === 0) {
      this.opts.logger?.warn(
        { err },
        "the shared Auth0 budget in Redis does not answer; this process paces itself meanwhile",
      );
    }
    // Asked again after a few seconds.
    this.failingUntil = Date.now() + 5_000;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext> {
    budgetTake(key: string, ...args: string[]): Result<unknown, Context>;
    budgetObserve(key: string, ...args: string[]): Result<unknown, Context>;
    budgetPause(key: string, ...args: string[]): Result<unknown, Context>;
  }
}
