import { randomBytes } from "node:crypto";
import { errorInWords } from "../error-words.js";
import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import { within } from "./bounded.js";
import type { Connection } from "./management.js";
import { nameHash } from "./token-seal.js";

/**
 * A tenant's connections, for the request form's type-ahead: every keystroke asks for matches, and
 * Slack waits at most 3 s for them, while listing a tenant of thousands of connections takes many
 * paced Management API calls.
 *
 * So the list is read from Auth0 (every page) at most once per `ttlMs` for the whole fleet and kept
 * in Redis ({prefix}:auth0-connections:{tenant}:{sha256(base URL)}, compact JSON, PX ttlMs), and in
 * each process's memory for as long. Typing again within that time costs no Auth0 call. One
 * process lists at a time: it holds a short lock in Redis while the others wait for its result.
 * A caller waits at most its deadline; then it gets what there is (the last list, even if older,
 * or the pages read so far), marked incomplete. A failed listing is not kept, and not tried again
 * for `retryAfterFailureMs`, so a tenant that refuses does not cost a call per keystroke.
 */

/** One connection as the picker needs it. */
export interface ListedConnection {
  id: string;
  name: string;
  displayName: string | undefined;
  strategy: string;
  domainLevel: boolean;
}

export interface ConnectionSnapshot {
  /** Sorted by name. */
  connections: readonly ListedConnection[];
  /** The whole list, read within the last ttlMs; false: older, partial, or none at all. */
  complete: boolean;
  /** Why there is no complete list, when a listing failed. */
  error?: unknown;
}

export interface ConnectionListOptions {
  redis: RedisClient;
  prefix: string;
  tenant: string;
  /** The tenant's base URL: another tenant behind the same name is another entry. */
  baseUrl: string;
  /** Reads every page from Auth0, telling each page as it arrives. */
  list: (onPage: (page: readonly Connection[]) => void) => Promise<readonly Connection[]>;
  /** How long a list serves (default 60 s). */
  ttlMs?: number;
  /** How long one process may hold the listing to itself (default 30 s). */
  lockMs?: number;
  /** After a failed listing, how long to answer without trying again (default 5 s). */
  retryAfterFailureMs?: number;
  /** Bounds each Redis step (default 1000 ms). */
  redisTimeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

interface Kept {
  connections: readonly ListedConnection[];
  fetchedAt: number;
}

/** Deletes the lock only if it is still ours (it may have expired and been taken since). */
const RELEASE_LOCK = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;

const byName = (a: ListedConnection, b: ListedConnection) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** A connection as Auth0 lists it, as the picker keeps it. */
export function listedConnection(c: Connection): ListedConnection {
  return {
    id: c.id,
    name: c.name,
    displayName: c.display_name,
    strategy: c.strategy,
    domainLevel: c.is_domain_connection,
  };
}

/** [id, name, display name or "", strategy, 1 | 0]: a tenant of 10 000 fits in under a megabyte. */
function encode(kept: Kept): string {
  return JSON.stringify({
    at: kept.fetchedAt,
    c: kept.connections.map((c) => [
      c.id,
      c.name,
      c.displayName ?? "",
      c.strategy,
      c.domainLevel ? 1 : 0,
    ]),
  });
}

function decode(text: string): Kept | undefined {
  try {
    const raw = JSON.parse(text) as { at?: unknown; c?: unknown };
    if (typeof raw.at !== "number" || !Array.isArray(raw.c)) return undefined;
    const connections = raw.c.map((row: unknown) => {
      const [id, name, displayName, strategy, domainLevel] = row as unknown[];
      return {
        id: String(id),
        name: String(name),
        displayName: displayName ? String(displayName) : undefined,
        strategy: String(strategy),
        domainLevel: domainLevel === 1,
      };
    });
    return { connections, fetchedAt: raw.at };
  } catch {
    return undefined;
  }
}

export class ConnectionList {
  /** The Redis key of the shared list. */
  readonly key: string;
  private readonly lockKey: string;
  private readonly opts: ConnectionListOptions;
  private readonly now: () => number;
  private kept: Kept | undefined;
  private loading: { partial: ListedConnection[]; done: Promise<void> } | undefined;
  private failure: { error: unknown; at: number } | undefined;

  constructor(opts: ConnectionListOptions) {
    this.opts = opts;
    this.now = opts.now ?? (() => Date.now());
    this.key = `${opts.prefix}:auth0-connections:${opts.tenant}:${nameHash(opts.baseUrl)}`;
    this.lockKey = `${this.key}:lock`;
  }

  private get ttlMs(): number {
    return this.opts.ttlMs ?? 60_000;
  }

  private fresh(kept: Kept | undefined): kept is Kept {
    return kept !== undefined && this.now() - kept.fetchedAt < this.ttlMs;
  }

  /**
   * The connections, within `deadlineMs`: the fleet's list when it is fresh, else a new one read
   * now; when that takes longer, what there is, marked incomplete.
   */
  async snapshot(deadlineMs: number): Promise<ConnectionSnapshot> {
    const started = this.now();
    if (this.fresh(this.kept)) return { connections: this.kept.connections, complete: true };
    const shared = await this.readShared();
    if (this.fresh(shared)) {
      this.kept = shared;
      return { connections: shared.connections, complete: true };
    }
    const failure = this.failure;
    if (failure && this.now() - failure.at < (this.opts.retryAfterFailureMs ?? 5_000)) {
      return this.incomplete(failure.error);
    }
    this.loading ??= this.startLoading();
    const { done } = this.loading;
    const left = Math.max(0, deadlineMs - (this.now() - started));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, left)))]);
    clearTimeout(timer);
    // Loading may have set it meanwhile.
    const loaded = this.kept as Kept | undefined;
    if (this.fresh(loaded)) return { connections: loaded.connections, complete: true };
    return this.incomplete(this.failure?.error);
  }

  /**
   * A connection as this process's fresh list has it, asking neither Redis nor Auth0: for checks
   * that must answer at once. Undefined when there is no fresh list, or it lacks the id.
   */
  freshEntry(id: string): ListedConnection | undefined {
    return this.fresh(this.kept) ? this.kept.connections.find((c) => c.id === id) : undefined;
  }

  /** The last whole list if there is one (however old), else the pages read so far. */
  private incomplete(error: unknown): ConnectionSnapshot {
    const partial = this.loading ? [...this.loading.partial].sort(byName) : [];
    const connections =
      this.kept && this.kept.connections.length >= partial.length ? this.kept.connections : partial;
    return { connections, complete: false, ...(error === undefined ? {} : { error }) };
  }

  private startLoading(): { partial: ListedConnection[]; done: Promise<void> } {
    const partial: ListedConnection[] = [];
    const done = this.load(partial)
      .then(() => {
        this.failure = undefined;
      })
      .catch((error: unknown) => {
        this.failure = { error, at: this.now() };
        this.opts.logger?.warn(
          { err: errorInWords(error), tenant: this.opts.tenant },
          "could not list the tenant's connections",
        );
      })
      .finally(() => {
        this.loading = undefined;
      });
    return { partial, done };
  }

  private async load(partial: ListedConnection[]): Promise<void> {
    const token = randomBytes(8).toString("hex");
    const lockMs = this.opts.lockMs ?? 30_000;
    const mine = await this.bounded(
      this.opts.redis.set(this.lockKey, token, "PX", lockMs, "NX"),
    ).then(
      (answer) => answer === "OK",
      // Without Redis, list alone: the fleet cannot be asked to wait.
      () => true,
    );
    if (!mine) {
      // Another process is listing: its result arrives in Redis.
      const until = this.now() + lockMs;
      while (this.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const shared = await this.readShared();
        if (this.fresh(shared)) {
          this.kept = shared;
          return;
        }
      }
    }
    try {
      const all = await this.opts.list((page) => partial.push(...page.map(listedConnection)));
      const kept: Kept = {
        connections: all.map(listedConnection).sort(byName),
        fetchedAt: this.now(),
      };
      this.kept = kept;
      await this.bounded(
        this.opts.redis.set(this.key, encode(kept), "PX", String(this.ttlMs)),
      ).catch((err: unknown) =>
        this.opts.logger?.warn(
          { err: errorInWords(err) },
          "could not keep the connection list in Redis",
        ),
      );
    } finally {
      if (mine) {
        await this.bounded(this.opts.redis.eval(RELEASE_LOCK, 1, this.lockKey, token)).catch(
          () => {},
        );
      }
    }
  }

  private async readShared(): Promise<Kept | undefined> {
    try {
      const stored = await this.bounded(this.opts.redis.get(this.key));
      return stored === null ? undefined : decode(stored);
    } catch (err) {
      this.opts.logger?.warn({ err: errorInWords(err) }, "Redis did not answer: connection list");
      return undefined;
    }
  }

  private bounded<T>(command: Promise<T>): Promise<T> {
    const ms = this.opts.redisTimeoutMs ?? 1000;
    return within(ms, command, () => new Error(`Redis gave no answer within ${ms} ms`));
  }
}
