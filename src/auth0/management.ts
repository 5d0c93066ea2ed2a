import { isLoopbackHost } from "../config.js";
import { errorInWords } from "../error-words.js";
import type { Logger } from "../log.js";
import { parseAuth0Error, parseRateLimit, retryAfter } from "./answers.js";
import {
  Auth0UnreachableError,
  InvalidIdentifierError,
  ManagementApiError,
  networkFailure,
} from "./errors.js";
import type { FleetCache } from "./fleet-cache.js";
import type { CallBudget, CallPriority } from "./rate-limiter.js";
import type { TenantSettingsCache } from "./tenant-settings-cache.js";
import { readThirdPartyApps, type ThirdPartyApps } from "./third-party-apps.js";
import type { TokenProvider } from "./token.js";
import type { Transport, TransportResponse } from "./transport.js";
import { isConnectionId, isConnectionName, quoteInput } from "./validate.js";

export { parseRateLimit } from "./answers.js";

/**
 * The few Management API v2 calls the bot makes. Each call waits for the rate limiter, carries
 * a cached token, retries once with a fresh token on 401, and turns any other failure into an
 * error that says whether retrying can help. A 429 is not retried here: the caller (the BullMQ
 * worker) reschedules the job for when Auth0's bucket has refilled.
 */

export interface Connection {
  id: string;
  name: string;
  display_name?: string;
  strategy: string;
  is_domain_connection: boolean;
}

export interface RateLimitInfo {
  /** x-ratelimit-limit */
  limit?: number;
  /** x-ratelimit-remaining */
  remaining?: number;
  /** x-ratelimit-reset, UNIX seconds */
  resetSec?: number;
}

export interface TenantSettings {
  friendly_name?: string;
  flags?: { enable_dynamic_client_registration?: boolean; [flag: string]: unknown };
}

export interface ManagementClientOptions {
  /** Tenant base URL: https://acme.us.auth0.com, or http://127.0.0.1:PORT for an emulator. */
  baseUrl: string;
  tokens: TokenProvider;
  transport: Transport;
  limiter: CallBudget;
  /** Whose calls these are: approved changes go before lookups made for people (default change). */
  priority?: CallPriority;
  /** Answers by status, shared by clients that differ only in priority. */
  apiCalls?: Record<string, number>;
  /** Tenant settings shared by the fleet for a minute; without it, each call asks Auth0. */
  tenantSettings?: TenantSettingsCache;
  /** Its third-party applications, likewise. */
  thirdPartyApps?: FleetCache<ThirdPartyApps>;
  logger?: Logger;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** Auth0's largest checkpoint page. */
const CONNECTION_PAGE_SIZE = 100;
/** 100 000 connections: far past any tenant; a bound on a `next` that never ends. */
const MAX_CONNECTION_PAGES = 1000;
/** Only what the picker shows and marks: not options, which may hold secrets. */
const CONNECTION_LIST_FIELDS = "id,name,display_name,strategy,is_domain_connection";

export class ManagementClient {
  /** Rate-limit headers of the latest answer that had them. */
  lastRateLimit: RateLimitInfo | undefined;
  /** Answers by HTTP status ("200", "429", …), and "network" for calls that got none. */
  readonly apiCalls: Record<string, number>;

  private readonly base: string;
  private readonly host: string;
  private readonly opts: ManagementClientOptions;
  private readonly now: () => number;

  constructor(opts: ManagementClientOptions) {
    const url = new URL(opts.baseUrl);
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopbackHost(url.hostname))) {
      // The bearer token would travel in clear text.
      throw new RangeError(`Auth0 base URL must be https:// (got ${url.protocol}//${url.host})`);
    }
    this.opts = opts;
    this.apiCalls = opts.apiCalls ?? {};
    this.base = opts.baseUrl.replace(/\/+$/, "");
    this.host = url.host;
    this.now = opts.now ?? (() => Date.now());
  }

  /** The same client (token, transport, limiter, counters) making its calls at `priority`. */
  withPriority(priority: CallPriority): ManagementClient {
    return new ManagementClient({ ...this.opts, priority, apiCalls: this.apiCalls });
  }

  /** GET /api/v2/connections/{id} */
  async getConnection(id: string): Promise<Connection> {
    assertConnectionId(id);
    const path = `/api/v2/connections/${encodeURIComponent(id)}`;
    const connection = toConnection(await this.call("GET", path), "GET", path);
    if (connection.id !== id) {
      throw new ManagementApiError({
        status: 200,
        method: "GET",
        path,
        retryable: false,
        detail: `Auth0 answered with connection ${connection.id} when asked for ${id}`,
      });
    }
    return connection;
  }

  /** GET /api/v2/connections?name=… : the connection with exactly that name, if any. */
  async findConnectionByName(name: string): Promise<Connection | undefined> {
    if (!isConnectionName(name)) {
      throw new InvalidIdentifierError(
        `${quoteInput(name)} is not an Auth0 connection name (letters, digits and inner hyphens, at most 128)`,
      );
    }
    const path = `/api/v2/connections?name=${encodeURIComponent(name)}`;
    const answer = await this.call("GET", path);
    if (!Array.isArray(answer)) throw notA("list of connections", "GET", path);
    const match = answer.find(
      (c: unknown) => typeof c === "object" && c !== null && (c as Connection).name === name,
    );
    return match === undefined ? undefined : toConnection(match, "GET", path);
  }

  /**
   * Every connection of the tenant, through checkpoint pagination (Auth0's way past its 1000
   * offset-paged results): `GET /api/v2/connections?take=100&fields=…&include_fields=true`, then
   * `&from=<next>` while an answer names a `next`. Each page is one paced call; `onPage` sees each
   * page as it arrives, so a caller in a hurry can use what has come so far.
   */
  async listConnections(
    options: { onPage?: (page: readonly Connection[]) => void } = {},
  ): Promise<Connection[]> {
    const all: Connection[] = [];
    const seen = new Set<string>();
    let from: string | undefined;
    for (let pages = 0; pages < MAX_CONNECTION_PAGES; pages++) {
      const query = new URLSearchParams({
        take: String(CONNECTION_PAGE_SIZE),
        fields: CONNECTION_LIST_FIELDS,
        include_fields: "true",
      });
      if (from !== undefined) query.set("from", from);
      const path = `/api/v2/connections?${query}`;
      const answer = await this.call("GET", path);
      const body = answer as { connections?: unknown; next?: unknown } | undefined;
      if (typeof body !== "object" || body === null || !Array.isArray(body.connections)) {
        throw notA("page of connections", "GET", path);
      }
      const page = body.connections.map((c: unknown) => toConnection(c, "GET", path));
      all.push(...page);
      options.onPage?.(page);
      const next = typeof body.next === "string" && body.next !== "" ? body.next : undefined;
      // The checkpoint must move on: the same one twice would page forever.
      if (next === undefined || seen.has(next)) return all;
      seen.add(next);
      from = next;
    }
    this.opts.logger?.warn(
      { pages: MAX_CONNECTION_PAGES, connections: all.length },
      "stopped listing connections after the most pages allowed",
    );
    return all;
  }

  /**
   * PATCH /api/v2/connections/{id} with exactly `is_domain_connection` and the current
   * `display_name`: Auth0 overwrites an absent display_name with the name, and refuses
   * name/strategy (400) or options (needs update:connections_options). Checks that Auth0
   * applied the change.
   */
  async setDomainLevel(current: Connection, value: boolean): Promise<Connection> {
    assertConnectionId(current.id);
    const path = `/api/v2/connections/${encodeURIComponent(current.id)}`;
    const displayName = current.display_name ?? current.name;
    const body = { is_domain_connection: value, display_name: displayName };
    const updated = toConnection(await this.call("PATCH", path, body), "PATCH", path);
    if (updated.is_domain_connection !== value) {
      throw new ManagementApiError({
        status: 200,
        method: "PATCH",
        path,
        retryable: false,
        detail:
          `Auth0 accepted the change but did not apply it: connection ${current.id} ` +
          `still has is_domain_connection=${updated.is_domain_connection}`,
      });
    }
    if (updated.display_name !== displayName) {
      this.opts.logger?.warn(
        { connectionId: current.id, sent: displayName, got: updated.display_name },
        "Auth0 changed the connection's display name",
      );
    }
    return updated;
  }

  /**
   * GET /api/v2/tenants/settings (read:tenant_settings), or the fleet's read of the last minute;
   * `fresh` always asks Auth0 (a decision rests on the answer).
   */
  getTenantSettings(options: { fresh?: boolean } = {}): Promise<TenantSettings> {
    const cache = this.opts.tenantSettings;
    return cache && !options.fresh
      ? cache.get(() => this.readTenantSettings())
      : this.readTenantSettings();
  }

  /**
   * PATCH /api/v2/tenants/settings with exactly `{"flags": {…}}` (update:tenant_settings): the
   * flags named are set, the others left alone. Checks that Auth0 applied them, and drops the
   * fleet's cached settings.
   */
  async setTenantFlags(flags: Record<string, boolean>): Promise<TenantSettings> {
    const path = "/api/v2/tenants/settings";
    const answer = await this.call("PATCH", path, { flags });
    await this.opts.tenantSettings?.forget();
    if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
      throw notA("tenant settings object", "PATCH", path);
    }
    const settings = answer as TenantSettings;
    const missed = Object.entries(flags).filter(
      ([flag, value]) => settings.flags?.[flag] !== value,
    );
    if (missed.length > 0) {
      throw new ManagementApiError({
        status: 200,
        method: "PATCH",
        path,
        retryable: false,
        detail: `Auth0 accepted the change but did not apply it: ${missed.map(([f]) => f).join(", ")} unchanged`,
      });
    }
    return settings;
  }

  /** GET /api/v2/clients?is_first_party=false (read:clients), or the fleet's read of the minute. */
  listThirdPartyApps(): Promise<ThirdPartyApps> {
    const read = () => readThirdPartyApps((path) => this.call("GET", path));
    return this.opts.thirdPartyApps?.get(read) ?? read();
  }

  private async readTenantSettings(): Promise<TenantSettings> {
    const path = "/api/v2/tenants/settings";
    const answer = await this.call("GET", path);
    if (typeof answer !== "object" || answer === null || Array.isArray(answer)) {
      throw notA("tenant settings object", "GET", path);
    }
    return answer as TenantSettings;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const { tokens, transport, limiter, logger } = this.opts;
    for (let attempt = 1; ; attempt++) {
      const grant = await limiter.acquire(this.opts.priority ?? "change");
      let token: string;
      try {
        token = await tokens.getToken();
      } catch (err) {
        limiter.observe({}, grant); // nothing was sent: let the next request go
        throw err;
      }
      const started = performance.now();
      let res: TransportResponse;
      try {
        res = await transport.request(`${this.base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        limiter.observe({}, grant);
        this.count("network");
        const ms = Math.round(performance.now() - started);
        logger?.debug({ method, path, ms, err }, "Auth0 Management API call got no answer");
        throw this.unreachable(err);
      }
      const ms = Math.round(performance.now() - started);
      const rateLimit = parseRateLimit(res.headers);
      if (rateLimit) this.lastRateLimit = rateLimit;
      limiter.observe(rateLimit ?? {}, grant);
      this.count(String(res.status));
      logger?.debug(
        { method, path, status: res.status, ms, remaining: rateLimit?.remaining },
        "Auth0 Management API call",
      );

      if (res.status === 401 && attempt === 1) {
        // Revoked, expired early, or signed with a rotated key: one fresh token, one retry.
        tokens.invalidate(token);
        continue;
      }
      if (res.status >= 200 && res.status < 300) {
        const text = await res.text();
        if (text === "") return undefined;
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw notA("JSON document", method, path, res.status);
        }
      }
      throw await this.apiError(method, path, res, rateLimit);
    }
  }

  private async apiError(
    method: string,
    path: string,
    res: TransportResponse,
    rateLimit: RateLimitInfo | undefined,
  ): Promise<ManagementApiError> {
    const answer = await parseAuth0Error(res);
    let retryAfterMs: number | undefined;
    if (res.status === 429) {
      const now = this.now();
      retryAfterMs = retryAfter(res, rateLimit, now);
      // Hold every other call too: Auth0's bucket is empty until then.
      this.opts.limiter.pauseUntil(now + retryAfterMs);
    }
    return new ManagementApiError({ status: res.status, method, path, retryAfterMs, ...answer });
  }

  private unreachable(err: unknown): Auth0UnreachableError {
    const failure = networkFailure(err, this.opts.transport.timeoutMs);
    const reason = failure?.reason ?? `the request failed (${errorInWords(err)})`;
    return new Auth0UnreachableError(this.host, reason, { code: failure?.code, cause: err });
  }

  private count(key: string): void {
    this.apiCalls[key] = (this.apiCalls[key] ?? 0) + 1;
  }
}

function assertConnectionId(id: unknown): asserts id is string {
  if (!isConnectionId(id)) {
    throw new InvalidIdentifierError(
      `${quoteInput(id)} is not an Auth0 connection id (con_ followed by 16 letters or digits)`,
    );
  }
}

function toConnection(raw: unknown, method: string, path: string): Connection {
  if (typeof raw !== "object" || raw === null) throw notA("connection", method, path);
  const c = raw as Record<string, unknown>;
  if (typeof c.id !== "string" || typeof c.name !== "string" || typeof c.strategy !== "string") {
    throw notA("connection", method, path);
  }
  const connection: Connection = {
    id: c.id,
    name: c.name,
    strategy: c.strategy,
    is_domain_connection: c.is_domain_connection === true,
  };
  if (typeof c.display_name === "string") connection.display_name = c.display_name;
  return connection;
}

function notA(what: string, method: string, path: string, status = 200): ManagementApiError {
  return new ManagementApiError({
    status,
    method,
    path,
    retryable: false,
    detail: `Auth0 answered with something that is not a ${what}`,
  });
}
