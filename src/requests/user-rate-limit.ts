import type { ClientContext, Result } from "ioredis";
import type { RedisClient } from "../redis.js";

/*
 * How often one person may act, counted in Redis so that every bot replica shares the count and
 * a restart does not reset it. Key: {p}:rate:{user}, a counter that lives one window (a fixed
 * window, started by the person's first command or click in it).
 */

/**
 * INCR and PEXPIRE in one step, so a counter can never be left without its expiry (which would
 * shut its person out for good). KEYS: the counter. ARGV: window in ms. Returns {count, ms left}.
 */
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if n == 1 or left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {n, left}
`;

export interface UserRateLimitOptions {
  /** Commands and clicks allowed per window. */
  limit: number;
  windowMs: number;
}

export interface RateVerdict {
  allowed: boolean;
  /** This one included. */
  count: number;
  /** When the window ends and the count starts again. */
  retryAfterMs: number;
}

export class UserRateLimit {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    readonly options: UserRateLimitOptions,
  ) {
    if (!this.redis.userRateHit) {
      this.redis.defineCommand("userRateHit", { numberOfKeys: 1, lua: HIT_SCRIPT });
    }
  }

  /** Counts one command or click of this person and says whether it is within the limit. */
  async hit(userId: string): Promise<RateVerdict> {
    const [count, left] = (await this.redis.userRateHit(
      `${this.prefix}:rate:${userId}`,
      String(this.options.windowMs),
    )) as [number, number];
    return { allowed: count <= this.options.limit, count, retryAfterMs: Math.max(0, left) };
  }
}

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext> {
    userRateHit(key: string, windowMs: string): Result<unknown, Context>;
  }
}
