import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import { FleetCache } from "./fleet-cache.js";
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
 * read at a time; when Redis does not answer, Auth0 is asked directly (see FleetCache).
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

/** Only what the bot uses: a few flags, not the whole of the tenant's settings. */
const keep = (fresh: TenantSettings): TenantSettings => ({
  friendly_name: fresh.friendly_name,
  flags: fresh.flags,
});

export class TenantSettingsCache {
  /** The Redis key of the cached settings. */
  readonly key: string;
  private readonly cache: FleetCache<TenantSettings>;

  constructor(opts: TenantSettingsCacheOptions) {
    this.key = `${opts.prefix}:auth0-tenant-settings:${opts.tenant}:${nameHash(opts.baseUrl)}`;
    this.cache = new FleetCache({ ...opts, key: this.key, what: "tenant settings" });
  }

  /** The settings as the fleet last read them, or as `read` reads them from Auth0 now. */
  get(read: () => Promise<TenantSettings>): Promise<TenantSettings> {
    return this.cache.get(read, keep);
  }

  /**
   * The tenant's settings changed (this bot changed a flag): every process reads them anew. A
   * failure is logged; the cached copy then lapses within its minute.
   */
  forget(): Promise<void> {
    return this.cache.forget();
  }
}
