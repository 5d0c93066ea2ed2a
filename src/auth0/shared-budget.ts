import type { ClientContext, Result } from "ioredis";
import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import {
  type CallPriority,
  LimiterBusyError,
  type RateLimiter,
  type RateLimitObservation,
} from "./rate-limiter.js";

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

/** Requests kept in hand below Auth0's bucket, so a late packet does not cost a 429. */
const RESERVE = 1;
/** Before anything is learnt: one request per 2 s (a non-production tenant allows under 1/s). */
const INITIAL_RATE_PER_MS = 0.5 / 1000;
/** The rate never drops below this after 429s. */
const MIN_RATE_PER_MS = 0.05 / 1000;
const MAX_PAUSE_MS = 60_000;
/** A call counted in flight for longer than this without an answer is forgotten. */
const INFLIGHT_TIMEOUT_MS = 30_000;
/** Added to the time until Auth0's reset when estimating its rate: the answer's travel time. */
const LATENCY_MARGIN_MS = 50;

const LIB = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(v, d) local n = tonumber(v) if n == nil then return d end return n end
-- The bucket as stored, refilled up to now (nothing refills while paused).
local function load(key, t)
  local h = redis.call('HMGET', key, 'tokens', 'inflight', 'updatedAt', 'rate', 'capacity',
    'pausedUntil', 'probeUntil', 'learnt', 'changesWaitUntil', 'rateCap', 'inflightAt', 'granted',
    'answered')
  local b = {
    tokens = num(h[1], 0), inflight = num(h[2], 0), updatedAt = num(h[3], t),
    rate = num(h[4], ${INITIAL_RATE_PER_MS}), capacity = num(h[5], 1), pausedUntil = num(h[6], 0),
    probeUntil = num(h[7], 0), learnt = h[8] == '1', changesWaitUntil = num(h[9], 0),
    rateCap = num(h[10], 0), inflightAt = num(h[11], 0), granted = num(h[12], 0),
    answered = num(h[13], 0)
  }
  -- Calls whose answer never came (a process died mid-call) stop counting after a while.
  if t - b.inflightAt > ${INFLIGHT_TIMEOUT_MS} then b.inflight = 0 end
  local from = math.max(b.updatedAt, math.min(b.pausedUntil, t))
  if t > from then
    b.tokens = math.min(b.capacity, b.tokens + (t - from) * b.rate)
  end
  b.updatedAt = t
  return b
end
local function save(key, b)
  redis.call('HSET', key, 'tokens', b.tokens, 'inflight', b.inflight, 'inflightAt', b.inflightAt,
    'updatedAt', b.updatedAt, 'rate', b.rate, 'capacity', b.capacity, 'pausedUntil', b.pausedUntil,
    'probeUntil', b.probeUntil, 'learnt', b.learnt and '1' or '0',
    'changesWaitUntil', b.changesWaitUntil, 'rateCap', b.rateCap, 'granted', b.granted,
    'answered', b.answered)
  redis.call('PEXPIRE', key, 86400000)
end
`;

/**
 * Takes one token for a call, or says how long to wait. KEYS[1]: the budget. ARGV: priority
 * ("change" | "lookup"), lookup share, probe timeout (ms), ceiling (per ms; 0: none).
 * Returns {granted (0/1), wait ms, tokens believed left, rate per second, the grant's number}:
 * grants are numbered in the order they were given, so that an answer can be told from an older one.
 */
const TAKE = `${LIB}
local key, priority, share, probeMs, ceiling = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = now()
local b = load(key, t)
if ceiling > 0 and b.rate > ceiling then b.rate = ceiling end
local function answer(granted, wait)
  if granted == 1 then
    b.inflight = b.inflight + 1; b.inflightAt = t; b.granted = b.granted + 1
  end
  save(key, b)
  return {granted, math.ceil(wait), tostring(b.tokens), tostring(b.rate * 1000), granted == 1 and b.granted or 0}
end
if t < b.pausedUntil then return answer(0, b.pausedUntil - t) end
if b.probeUntil > 0 then
  if t < b.probeUntil then return answer(0, math.min(100, b.probeUntil - t)) end
  b.probeUntil = 0 -- no answer came back; carry on from our own count
end
if priority == 'lookup' and t < b.changesWaitUntil then
  return answer(0, math.max(1, b.changesWaitUntil - t))
end
if not b.learnt then
  -- Nothing known about Auth0's bucket yet: this request goes alone, the others wait for its answer.
  b.probeUntil = t + probeMs
  b.tokens = 0
  return answer(1, 0)
end
-- Lookups never take the part of the bucket kept for approved changes.
local floor = 0
if priority == 'lookup' then floor = math.floor(b.capacity * (1 - share)) end
if b.tokens < 1 + floor then
  local wait = (1 + floor - b.tokens) / b.rate
  if priority == 'change' then b.changesWaitUntil = math.max(b.changesWaitUntil, t + wait + 50) end
  return answer(0, wait)
end
b.tokens = b.tokens - 1
return answer(1, 0)
`;

/**
 * What an answer said about Auth0's bucket. KEYS[1]: the budget. ARGV: limit, remaining, reset
 * (UNIX seconds), lookup share, ceiling (per ms; 0: none), the call's grant number; '' for a
 * header that was absent (or a call made without a number).
 */
const OBSERVE = `${LIB}
local key, share, ceiling = KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5])
local limit, remaining, reset = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local grant = tonumber(ARGV[6])
local t = now()
local b = load(key, t)
b.probeUntil = 0
b.inflight = math.max(0, b.inflight - 1)
if limit and limit > 0 then b.capacity = math.max(1, limit - ${RESERVE}) end
-- Answers may arrive out of order (two processes, two connections): one to a call granted
-- before a call already answered says less than that one did, and may only lower our count.
local newest = grant == nil or grant > b.answered
if grant and grant > b.answered then b.answered = grant end
if remaining then
  -- Auth0's count after this call, less the calls it has not seen yet, is the truth; with a
  -- ceiling set, or from an older answer, it may only lower ours.
  local told = remaining - b.inflight
  if b.learnt and (ceiling > 0 or not newest) then
    b.tokens = math.min(b.tokens, told)
  else
    b.tokens = told
  end
  b.learnt = true
end
if limit and remaining and reset then
  local missing, untilFull = limit - remaining, reset * 1000 - t
  if missing >= 1 and untilFull > 0 then
    -- The answer took time to reach us and Redis: count that time as still to wait, so the
    -- estimate stays below the true rate.
    local estimate = missing / (untilFull + ${LATENCY_MARGIN_MS})
    if b.rateCap > 0 then estimate = math.min(estimate, b.rateCap) end
    if estimate > b.rate then b.rate = estimate end
  end
end
if ceiling > 0 and b.rate > ceiling then b.rate = ceiling end
b.tokens = math.min(b.tokens, b.capacity)
save(key, b)
return tostring(b.tokens)
`;

/** Auth0 answered 429: every process waits for the reset. KEYS[1]. ARGV: until (ms), share. */
const PAUSE = `${LIB}
local key, untilMs, share = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = now()
local b = load(key, t)
b.rateCap = math.max(${MIN_RATE_PER_MS}, b.rate * 0.9)
b.rate = math.max(${MIN_RATE_PER_MS}, b.rate / 2)
local target = math.min(untilMs, t + ${MAX_PAUSE_MS})
if target > b.pausedUntil then b.pausedUntil = target end
-- By the reset Auth0 has refilled at least one token: one request goes then, alone.
b.tokens = 1
b.learnt = false
save(key, b)
return b.pausedUntil - t
`;

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
