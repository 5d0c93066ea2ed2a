/**
 * The Management API's rate limit: a token bucket of `burst` tokens refilled at `perSecond`, and
 * the `x-ratelimit-*` headers that report it on every answer.
 */

export interface RateLimit {
  perSecond: number;
  burst: number;
}

/** Headers reported when no rate limit is configured. */
const GENEROUS: RateLimit = { perSecond: 1000, burst: 1000 };

export class RateBucket {
  private tokens: number;
  private updatedAt = performance.now();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    readonly enforced: boolean,
  ) {
    this.tokens = burst;
  }

  /** Enforces `limit`; without one, never refuses and reports a generous bucket. */
  static of(limit: RateLimit | undefined): RateBucket {
    return limit
      ? new RateBucket(limit.perSecond, limit.burst, true)
      : new RateBucket(GENEROUS.perSecond, GENEROUS.burst, false);
  }

  private refill(): void {
    const t = performance.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((t - this.updatedAt) / 1000) * this.perSecond,
    );
    this.updatedAt = t;
  }

  /** Takes a token if there is one (always, when not enforced). */
  take(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    if (!this.enforced) return true;
    return false;
  }

  headers(): Record<string, string> {
    this.refill();
    const tokens = Math.max(0, this.tokens);
    // x-ratelimit-reset: UNIX seconds at which the bucket is full again.
    const fullAtMs = Date.now() + ((this.burst - tokens) / this.perSecond) * 1000;
    return {
      "x-ratelimit-limit": String(this.burst),
      "x-ratelimit-remaining": String(Math.floor(tokens)),
      "x-ratelimit-reset": String(Math.ceil(fullAtMs / 1000)),
    };
  }
}
