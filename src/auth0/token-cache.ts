import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import { errorInWords } from "../error-words.js";
import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import { within } from "./bounded.js";
import { type TokenFailureReason, TokenRequestError } from "./errors.js";
import {
  type CachedToken,
  type ClientCredential,
  nameHash,
  type TokenOwner,
  TokenSeal,
} from "./token-seal.js";

/**
 * One Management API token for the whole fleet. Auth0 counts machine-to-machine tokens, and ten
 * workers that each fetch their own, again after each restart and each 401, spend that quota ten
 * times over. So the token lives in Redis, sealed (token-seal.ts), and one process at a time
 * fetches it, under a lock; the others wait for it and take it from there.
 *
 * Redis layout, all under one name per tenant, application, API and credential:
 *   {prefix}:auth0-token:{tenant}:{sha256(clientId, audience)}:{key id}   the sealed token,
 *       expiring with it (PX)
 *   …:lock     SET NX PX: the process fetching; released by compare-and-delete
 *   …:failed   why that fetch failed, for the processes that waited on it (a few seconds)
 * A changed credential or audience is another name: it never reads another's token, and during
 * a secret rotation old and new processes each share their own instead of overwriting each other.
 *
 * Redis is a help, not a dependency: when it does not answer within a second, the process
 * fetches its own token and says so.
 */

export interface SharedTokenCacheOptions extends TokenOwner {
  redis: RedisClient;
  prefix: string;
  credential: ClientCredential;
  /** How long one fetch may hold the lock: longer than discovery plus a token request. */
  lockMs: number;
  logger?: Logger;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
  /** Bounds each Redis step; past it, this process fetches its own token (default 1000 ms). */
  redisTimeoutMs?: number;
}

export interface ObtainOptions {
  /** Only a token not yet due for refresh will do (a refresh ahead of expiry). */
  fresh: boolean;
  /** A token Auth0 refused (401): removed from Redis if it is still there, never taken. */
  rejected?: string;
}

/** Waiting for another process's fetch: first look again soon, then every 250 ms. */
const FIRST_POLL_MS = 20;
const MAX_POLL_MS = 250;
/** How long a failed fetch is remembered for those who waited on it. */
const FAILURE_NOTE_MS = 10_000;

/** KEYS[1] lock; ARGV id, ms. {1} when taken, else {0, the holder's id}. */
const TAKE_LOCK = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {0, redis.call('GET', KEYS[1]) or ''}
`;
/** KEYS[1] lock; ARGV[1] our id. Never releases a lock that expired and was taken by another. */
const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
/**
 * KEYS[1] entry; ARGV[1] the refused token's id. Deletes the entry only while it holds that
 * token, so ten processes seeing the same 401 remove it once, and never a newer token.
 */
const DISCARD_TOKEN = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, entry = pcall(cjson.decode, raw)
if ok and type(entry) == 'table' and entry.tid == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Redis did not answer (in time): the caller fetches without the fleet. */
class RedisUnavailable extends Error {}

interface FailureNote {
  holder: string;
  reason: TokenFailureReason;
  message: string;
  status?: number;
}

export class SharedTokenCache {
  /** The Redis key of the sealed token. */
  readonly key: string;
  private readonly lockKey: string;
  private readonly failedKey: string;
  private readonly seal: TokenSeal;
  private readonly opts: SharedTokenCacheOptions;
  private readonly now: () => number;
  private readonly redisTimeoutMs: number;

  constructor(opts: SharedTokenCacheOptions) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(opts.tenant)) {
      throw new RangeError(`not a tenant name: ${JSON.stringify(opts.tenant)}`);
    }
    this.opts = opts;
    this.seal = new TokenSeal(opts.credential, opts);
    const owner = nameHash(opts.clientId, opts.audience);
    this.key = `${opts.prefix}:auth0-token:${opts.tenant}:${owner}:${this.seal.keyId}`;
    this.lockKey = `${this.key}:lock`;
    this.failedKey = `${this.key}:failed`;
    this.now = opts.now ?? (() => Date.now());
    this.redisTimeoutMs = opts.redisTimeoutMs ?? 1000;
  }

  /**
   * A token from Redis if one there will do; else one that `fetch` gets under the fleet's lock,
   * or that another process's fetch puts there meanwhile. `fetch` runs at most once.
   */
  async obtain(fetch: () => Promise<CachedToken>, want: ObtainOptions): Promise<CachedToken> {
    const now = this.now();
    const acceptable = (t: CachedToken | undefined): t is CachedToken =>
      t !== undefined &&
      t.accessToken !== want.rejected &&
      now < t.expiresAtMs &&
      (!want.fresh || now < t.refreshAtMs);
    try {
      if (want.rejected !== undefined) {
        const id = this.seal.tokenId(want.rejected);
        await this.step(() => this.opts.redis.eval(DISCARD_TOKEN, 1, this.key, id));
      }
      return await this.fromFleet(fetch, acceptable);
    } catch (err) {
      if (!(err instanceof RedisUnavailable)) throw err;
      this.opts.logger?.warn(
        { err: err.message },
        "Redis did not answer for the shared Auth0 token: this process fetches its own",
      );
      return fetch();
    }
  }

  private async fromFleet(
    fetch: () => Promise<CachedToken>,
    acceptable: (t: CachedToken | undefined) => t is CachedToken,
  ): Promise<CachedToken> {
    /** Every process seen holding the lock while we waited: their failure is ours. */
    const holders = new Set<string>();
    // A holder that died leaves its lock until it expires; we then take it over.
    const deadline = performance.now() + this.opts.lockMs + 4 * MAX_POLL_MS;
    for (let pause = FIRST_POLL_MS; ; pause = Math.min(pause * 2, MAX_POLL_MS)) {
      const stored = await this.read();
      if (acceptable(stored)) return stored;
      if (holders.size > 0) {
        const failure = await this.failureOf(holders);
        if (failure) throw failure;
      }
      const lock = await this.tryLock();
      if ("id" in lock) return this.fetchUnderLock(lock.id, fetch, acceptable);
      if (lock.holder) holders.add(lock.holder);
      if (performance.now() >= deadline) {
        this.opts.logger?.warn(
          "the process fetching the shared Auth0 token has not shared it in time: fetching here",
        );
        return fetch();
      }
      await delay(pause);
    }
  }

  private async fetchUnderLock(
    lockId: string,
    fetch: () => Promise<CachedToken>,
    acceptable: (t: CachedToken | undefined) => t is CachedToken,
  ): Promise<CachedToken> {
    try {
      // Another process may have shared one between our read and our lock.
      const stored = await this.read();
      if (acceptable(stored)) return stored;
      let token: CachedToken;
      try {
        token = await fetch();
      } catch (err) {
        await this.noteFailure(lockId, err);
        throw err;
      }
      await this.write(token);
      return token;
    } finally {
      await this.step(() => this.opts.redis.eval(RELEASE_LOCK, 1, this.lockKey, lockId)).catch(
        () => undefined, // it expires on its own
      );
    }
  }

  private async read(): Promise<CachedToken | undefined> {
    const raw = await this.step(() => this.opts.redis.get(this.key));
    if (raw === null) return undefined;
    const token = this.seal.open(raw, this.key);
    if (!token) {
      this.opts.logger?.warn(
        { key: this.key },
        "the shared Auth0 token in Redis does not open with this credential (altered?): it will be replaced",
      );
    }
    return token;
  }

  private async write(token: CachedToken): Promise<void> {
    const ttlMs = Math.ceil(token.expiresAtMs - this.now());
    if (ttlMs <= 0) return;
    const sealed = this.seal.seal(token, this.key);
    try {
      await this.step(() => this.opts.redis.set(this.key, sealed, "PX", ttlMs));
    } catch (err) {
      this.opts.logger?.warn(
        { err: errorInWords(err) },
        "could not share the Auth0 token through Redis: other processes will fetch their own",
      );
    }
  }

  private async tryLock(): Promise<{ id: string } | { holder?: string }> {
    const id = randomBytes(12).toString("base64url");
    const ms = String(this.opts.lockMs);
    const [taken, holder] = (await this.step(() =>
      this.opts.redis.eval(TAKE_LOCK, 1, this.lockKey, id, ms),
    )) as [number, string?];
    return taken === 1 ? { id } : { holder: holder || undefined };
  }

  /** Tells the processes waiting on this fetch why it failed, so they do not each try again. */
  private async noteFailure(holder: string, err: unknown): Promise<void> {
    const note: FailureNote =
      err instanceof TokenRequestError
        ? { holder, reason: err.reason, message: err.message, status: err.status }
        : { holder, reason: "other", message: "fetching the Auth0 token failed" };
    await this.step(() =>
      this.opts.redis.set(this.failedKey, JSON.stringify(note), "PX", FAILURE_NOTE_MS),
    ).catch(() => undefined);
  }

  private async failureOf(holders: Set<string>): Promise<TokenRequestError | undefined> {
    const raw = await this.step(() => this.opts.redis.get(this.failedKey));
    if (raw === null) return undefined;
    try {
      const note = JSON.parse(raw) as FailureNote;
      if (!holders.has(note.holder)) return undefined;
      return new TokenRequestError(note.message, { reason: note.reason, status: note.status });
    } catch {
      return undefined;
    }
  }

  /** One Redis command, bounded: a slow or absent Redis must not hold up Auth0 calls. */
  private async step<T>(command: () => Promise<T>): Promise<T> {
    const ms = this.redisTimeoutMs;
    try {
      return await within(ms, command(), () => new RedisUnavailable(`no answer within ${ms} ms`));
    } catch (err) {
      throw err instanceof RedisUnavailable ? err : new RedisUnavailable(errorInWords(err));
    }
  }
}
