import { errorInWords } from "../error-words.js";
import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import { within } from "./bounded.js";

/**
 * One fact about a tenant that rarely changes (its settings, its third-party applications), read
 * from Auth0 about once per `ttlMs` for the whole fleet instead of once for every request: out of
 * a bucket of 2 calls a second, a request should cost its lookup, not three calls.
 *
 * Redis holds it as JSON under `key`, expiring after `ttlMs` (PX), so a change made in the
 * Dashboard shows within that time. Only a successful read is kept: a refusal or an outage is
 * asked again next time. In one process, one read at a time; when Redis does not answer, Auth0 is
 * asked directly.
 */

export interface FleetCacheOptions {
  redis: RedisClient;
  /** The Redis key: name the tenant and its base URL, so another tenant is another entry. */
  key: string;
  /** What it holds, for log lines ("tenant settings"). */
  what: string;
  /** How long a read serves (default 60 s). */
  ttlMs?: number;
  /** Bounds each Redis step (default 1000 ms). */
  redisTimeoutMs?: number;
  logger?: Logger;
}

export class FleetCache<T> {
  readonly key: string;
  private inflight: Promise<T> | undefined;

  constructor(private readonly opts: FleetCacheOptions) {
    this.key = opts.key;
  }

  /**
   * The value as the fleet last read it, or as `read` reads it from Auth0 now; `keep` trims a
   * fresh read to what the bot uses before it is shared (and returned).
   */
  get(read: () => Promise<T>, keep: (fresh: T) => T = (fresh) => fresh): Promise<T> {
    this.inflight ??= this.lookUp(read, keep).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async lookUp(read: () => Promise<T>, keep: (fresh: T) => T): Promise<T> {
    const { redis, logger, what } = this.opts;
    let stored: string | null;
    try {
      stored = await this.bounded(redis.get(this.key));
    } catch (err) {
      logger?.warn({ err: errorInWords(err) }, `Redis did not answer: ${what} read anew`);
      return keep(await read());
    }
    if (stored !== null) {
      try {
        return JSON.parse(stored) as T;
      } catch {
        // Not ours: read it again, and overwrite it.
      }
    }
    const kept = keep(await read());
    const ttlMs = String(this.opts.ttlMs ?? 60_000);
    await this.bounded(redis.set(this.key, JSON.stringify(kept), "PX", ttlMs)).catch(
      (err: unknown) =>
        logger?.warn({ err: errorInWords(err) }, `could not keep the ${what} in Redis`),
    );
    return kept;
  }

  /** It changed (this bot changed it): every process reads it anew. A failure is logged. */
  async forget(): Promise<void> {
    await this.bounded(this.opts.redis.del(this.key)).catch((err: unknown) =>
      this.opts.logger?.warn(
        { err: errorInWords(err) },
        `could not drop the cached ${this.opts.what}`,
      ),
    );
  }

  private bounded<V>(command: Promise<V>): Promise<V> {
    const ms = this.opts.redisTimeoutMs ?? 1000;
    return within(ms, command, () => new Error(`Redis gave no answer within ${ms} ms`));
  }
}
