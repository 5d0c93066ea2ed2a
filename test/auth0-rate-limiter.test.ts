import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LimiterBusyError, RateLimiter } from "../src/auth0/rate-limiter.js";

/**
 * The limiter against a simulated Auth0 bucket on a fake clock: many calls, realistic and
 * jittery latency, minutes of traffic in milliseconds of test time.
 */

const START = 1_700_000_000_000;

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Auth0's bucket as documented: `burst` tokens, refilled continuously at `perSecond`. */
class SimulatedBucket {
  private tokens: number;
  private at = Date.now();
  constructor(
    readonly perSecond: number,
    readonly burst: number,
    initial = burst,
  ) {
    this.tokens = initial;
  }

  take(): { ok: boolean; limit: number; remaining: number; resetSec: number } {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) / 1000) * this.perSecond);
    this.at = now;
    const ok = this.tokens >= 1;
    if (ok) this.tokens -= 1;
    const fullAt = now + ((this.burst - this.tokens) / this.perSecond) * 1000;
    return {
      ok,
      limit: this.burst,
      remaining: Math.floor(this.tokens),
      resetSec: Math.ceil(fullAt / 1000),
    };
  }
}

/** Deterministic latencies in [min, max] ms. */
function latencies(min: number, max: number): () => number {
  let seed = 42;
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return min + (seed / 2 ** 31) * (max - min);
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `calls` concurrent calls, each: acquire, travel to Auth0, take from its bucket, travel back,
 * report the headers (and a 429's reset) to the limiter, as ManagementClient does.
 */
async function run(opts: {
  limiter: RateLimiter;
  bucket: SimulatedBucket;
  calls: number;
  latency?: () => number;
}) {
  const latency = opts.latency ?? (() => 20);
  const arrivals: number[] = [];
  let rejected = 0;
  const all = Promise.all(
    Array.from({ length: opts.calls }, async () => {
      await opts.limiter.acquire();
      await sleep(latency());
      const answer = opts.bucket.take();
      arrivals.push(Date.now());
      await sleep(latency());
      opts.limiter.observe(answer);
      if (!answer.ok) {
        rejected++;
        opts.limiter.pauseUntil(answer.resetSec * 1000);
      }
    }),
  );
  await vi.runAllTimersAsync();
  await all;
  const spanMs = Math.max(...arrivals) - Math.min(...arrivals);
  return { rejected, spanMs };
}

/** Time Auth0's bucket needs for `calls` requests: the burst at once, the rest at the rate. */
function bucketAllowsMs(calls: number, perSecond: number, burst: number): number {
  return (Math.max(0, calls - burst) / perSecond) * 1000;
}

describe("pacing ahead of Auth0's bucket", () => {
  it.each([
    { perSecond: 10, burst: 10, calls: 300 },
    { perSecond: 2, burst: 2, calls: 60 },
    { perSecond: 16, burst: 50, calls: 500 },
    { perSecond: 50, burst: 50, calls: 1000 },
  ])(
    "$calls calls through $perSecond/s burst $burst with jittery latency: no 429, within 1.05x",
    async ({ perSecond, burst, calls }) => {
      const { rejected, spanMs } = await run({
        limiter: new RateLimiter({ perSecond, burst }),
        bucket: new SimulatedBucket(perSecond, burst),
        calls,
        latency: latencies(5, 80),
      });
      expect(rejected).toBe(0);
      expect(spanMs).toBeLessThanOrEqual(bucketAllowsMs(calls, perSecond, burst) * 1.05);
    },
  );

  it("a bucket another process has nearly drained: the first answer is believed, no 429", async () => {
    const { rejected } = await run({
      limiter: new RateLimiter({ perSecond: 10, burst: 10 }),
      bucket: new SimulatedBucket(10, 10, 2),
      calls: 100,
      latency: latencies(5, 80),
    });
    expect(rejected).toBe(0);
  });

  it("a limiter configured 5x faster than the tenant: each 429 halves the pace, so 429s stay rare", async () => {
    const calls = 400;
    const { rejected, spanMs } = await run({
      limiter: new RateLimiter({ perSecond: 10, burst: 10 }),
      bucket: new SimulatedBucket(2, 2),
      calls,
      latency: latencies(5, 80),
    });
    expect(rejected / calls).toBeLessThanOrEqual(0.05);
    expect(spanMs).toBeLessThanOrEqual(bucketAllowsMs(calls, 2, 2) * 1.25);
  });
});

describe("the limiter's rules", () => {
  it("lets requests go in the order they asked", async () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 1 });
    const order: number[] = [];
    const all = Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        limiter.acquire().then(() => {
          order.push(i);
          limiter.observe({});
        }),
      ),
    );
    await vi.runAllTimersAsync();
    await all;
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it("holds the others until the first answer says how full the bucket is", async () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 10 });
    let released = 0;
    for (let i = 0; i < 10; i++) void limiter.acquire().then(() => released++);
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    expect(released).toBe(1);
    limiter.observe({ limit: 10, remaining: 4, resetSec: START / 1000 + 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(1 + 3); // Auth0 has 4 left; one stays in reserve
    await vi.advanceTimersByTimeAsync(100);
    expect(released).toBe(5); // then one per 1/perSecond
  });

  it("without any answer, the first request stops holding the others after the probe timeout", async () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 5, probeTimeoutMs: 1000 });
    let released = 0;
    for (let i = 0; i < 3; i++) void limiter.acquire().then(() => released++);
    await vi.advanceTimersByTimeAsync(999);
    expect(released).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toBe(3);
  });

  it("pauseUntil (a 429) holds every request until the reset, then one goes first to re-measure", async () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 10 });
    await limiter.acquire();
    limiter.observe({ remaining: 9 });
    limiter.pauseUntil(START + 2000);
    expect(limiter.pausedUntil).toBe(START + 2000);
    let released = 0;
    for (let i = 0; i < 5; i++) void limiter.acquire().then(() => released++);
    await vi.advanceTimersByTimeAsync(1999);
    expect(released).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(released).toBe(1);
    limiter.observe({ remaining: 3 });
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(3); // Auth0 has 3: two go, one stays in reserve
    // The next slots come at about half the pace after a 429: ~200 ms apart, not 100.
    await vi.advanceTimersByTimeAsync(150);
    expect(released).toBe(3);
    await vi.advanceTimersByTimeAsync(50);
    expect(released).toBe(4);
  });

  it("an answer with nothing remaining does not stop the pace (rounding and jitter); only a 429 does", async () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 10 });
    await limiter.acquire();
    limiter.observe({ remaining: 9 });
    for (let i = 0; i < 8; i++) await limiter.acquire();
    limiter.observe({ remaining: 0, resetSec: START / 1000 + 3 });
    let released = false;
    void limiter.acquire().then(() => {
      released = true;
    });
    await vi.advanceTimersByTimeAsync(100);
    expect(released).toBe(true);
  });

  it("an answer showing fewer tokens than we count lowers our count", async () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 10 });
    await limiter.acquire();
    limiter.observe({ remaining: 9 }); // in step with Auth0: 8 more may go at once
    let released = 0;
    for (let i = 0; i < 8; i++) void limiter.acquire().then(() => released++);
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(8);
    await vi.advanceTimersByTimeAsync(1000); // we now count 9 tokens again
    limiter.observe({ remaining: 2 }); // someone else used Auth0's
    for (let i = 0; i < 8; i++) void limiter.acquire().then(() => released++);
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toBe(8 + 2);
  });
});

describe("approved changes before lookups", () => {
  it("a change waiting goes before lookups queued earlier", async () => {
    const limiter = new RateLimiter({ perSecond: 10, burst: 1 });
    const order: string[] = [];
    await limiter.acquire();
    limiter.observe({ limit: 2, remaining: 1 });
    const lookups = Array.from({ length: 3 }, (_, i) =>
      limiter.acquire("lookup").then(() => order.push(`lookup ${i}`)),
    );
    const change = limiter.acquire("change").then(() => order.push("change"));
    await vi.runAllTimersAsync();
    await Promise.all([...lookups, change]);
    expect(order[0]).toBe("change");
    expect(order.slice(1)).toEqual(["lookup 0", "lookup 1", "lookup 2"]);
  });

  it("a lookup that would wait too long is turned away at once, saying when to try again", async () => {
    const limiter = new RateLimiter({ perSecond: 2, burst: 2, maxLookupWaitMs: 3_000 });
    const waiting = Array.from({ length: 20 }, () => limiter.acquire("change"));
    const busy = await limiter.acquire("lookup").catch((err: unknown) => err);
    expect(busy).toBeInstanceOf(LimiterBusyError);
    expect((busy as LimiterBusyError).retryAfterMs).toBeGreaterThan(3_000);
    for (const w of waiting) w.catch(() => undefined);
    await vi.runAllTimersAsync();
  });
});
