import { errorInWords } from "../error-words.js";
import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import { within } from "./bounded.js";
import type { TenantSettings } from "./management.js";
import { nameHash } from "./token-seal.js";

/**
 * Facts about a tenant that rarely change (whether Dynamic Client Registration is on), read from
 * Auth0 about once a minute for the whole fleet instead of once for every request: a request
 * then costs one Management API call (its lookup), not two, out of a bucket of 2 a second.
 *
 * Redis: {prefix}:auth0-tenant-settings:{tenant}:{sha256(base URL)}, JSON {friendly_name, flags},
 * expiring after `ttlMs` (PX), so a flag changed in the Dashboard shows within that time. Only a
 * successful read is kept: a refusal or an outage is asked again next time. In one process, one
 * read at a time; when Redis does not answer, Auth0 is asked directly.
 */

export interface TenantSettingsCacheOptions {
  redis: RedisClient;
  prefix: string;
  /** The tenant's name in this app's configuration ("default" while there is one). */
  tenant: string;
  /** The tenant's base URL: another tenant behind the same name is another entry. */
  baseUrl: string;
  /** How long a read serves (default 60 s). */
  ttlMs?: number;
  /** Bounds each Redis step (default 1000 ms). */
  redisTimeoutMs?: number;
  logger?: Logger;
}

export class TenantSettingsCache {
  /** The Redis key of the cached settings. */
  readonly key: string;
  private readonly opts: TenantSettingsCacheOptions;
  private inflight: Promise<TenantSettings> | undefined;

  constructor(opts: TenantSettingsCacheOptions) {
    this.opts = opts;
    this.key = `${opts.prefix}:auth0-tenant-settings:${opts.tenant}:${nameHash(opts.baseUrl)}`;
  }

  /** The settings as the fleet last read them, or as `read` reads them from Auth0 now. */
  get(read: () => Promise<TenantSettings>): Promise<TenantSettings> {
    this.inflight ??= this.lookUp(read).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async lookUp(read: () => Promise<TenantSettings>): Promise<TenantSettings> {
    const { redis, logger } = this.opts;
    let stored: string | null;
    try {
      stored = await this.bounded(redis.get(this.key));
    } catch (err) {
      logger?.warn({ err: errorInWords(err) }, "Redis did not answer: tenant settings read anew");
      return read();
    }
    if (stored !== null) {
      try {
        return JSON.parse(stored) as TenantSettings;
      } catch {
        // Not ours: read it again, and overwrite it.
      }
    }
    const fresh = await read();
    // Only what the bot uses: a few flags, not the whole of the tenant's settings.
    const kept: TenantSettings = { friendly_name: fresh.friendly_name, flags: fresh.flags };
    const ttlMs = String(this.opts.ttlMs ?? 60_000);
    await this.bounded(redis.set(this.key, JSON.stringify(kept), "PX", ttlMs)).catch(
      (err: unknown) =>
        logger?.warn({ err: errorInWords(err) }, "could not keep the tenant settings in Redis"),
    );
    return kept;
  }

  /**
   * The tenant's settings changed (this bot changed a flag): every process reads them anew. A
   * failure is logged; the cached copy then lapses within its minute.
   */
  async forget(): Promise<void> {
    await this.bounded(this.opts.redis.del(this.key)).catch((err: unknown) =>
      this.opts.logger?.warn(
        { err: errorInWords(err) },
        "could not drop the cached tenant settings",
      ),
    );
  }

  private bounded<T>(command: Promise<T>): Promise<T> {
    const ms = this.opts.redisTimeoutMs ?? 1000;
    return within(ms, command, () => new Error(`Redis gave no answer within ${ms} ms`));
  }
}
