import { STATUS_CODES } from "node:http";
import * as oidc from "openid-client";
import { isLoopbackHost } from "../config.js";
import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import { networkFailure, type TokenFailureReason, TokenRequestError } from "./errors.js";
import { SharedTokenCache } from "./token-cache.js";
import type { CachedToken } from "./token-seal.js";
import type { Transport } from "./transport.js";

/**
 * The Management API token: fetched with the client-credentials grant (openid-client), kept in
 * memory, refreshed ahead of expiry, and never requested twice at once. Auth0 counts and
 * limits machine-to-machine tokens, so a token is reused until shortly before it expires; with
 * `fleet`, by every process on the same Redis (token-cache.ts).
 */

export interface TokenProviderOptions {
  /** Tenant base URL: https://acme.us.auth0.com, or http://127.0.0.1:PORT for an emulator. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** The Management API identifier, with its trailing slash: https://acme.us.auth0.com/api/v2/ */
  audience: string;
  transport: Transport;
  logger?: Logger;
  /** Bounds discovery and each token request (default 10 s). */
  timeoutMs?: number;
  /** Refresh this long before expiry (default 300 s, or 10 % of the lifetime if shorter). */
  refreshMarginSec?: number;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
  /**
   * Share one token, encrypted, with every process using this Redis and prefix: one fetch for
   * the fleet, one refresh, one new token after a 401. Without it the process keeps its own.
   */
  fleet?: { redis: RedisClient; prefix: string; tenant: string };
}

/** Used when Auth0 omits expires_in (it does not in practice); Auth0's documented default. */
const DEFAULT_EXPIRES_IN_SEC = 86_400;
/** A token this close to expiry is not sent: it could expire on the way. */
const EXPIRY_GUARD_MS = 10_000;

export class TokenProvider {
  /** Token requests sent to Auth0 (successful or not). */
  tokenFetches = 0;

  private readonly opts: TokenProviderOptions;
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly fleet: SharedTokenCache | undefined;
  private cached: CachedToken | undefined;
  /** The token Auth0 last refused, until the next fetch has made sure the fleet drops it. */
  private rejected: string | undefined;
  private inflight: Promise<CachedToken> | undefined;
  private configuration: Promise<oidc.Configuration> | undefined;

  constructor(opts: TokenProviderOptions) {
    this.opts = opts;
    this.url = new URL(opts.baseUrl);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.now = opts.now ?? (() => Date.now());
    this.fleet =
      opts.fleet &&
      new SharedTokenCache({
        ...opts.fleet,
        clientId: opts.clientId,
        audience: opts.audience,
        credential: { clientSecret: opts.clientSecret },
        // Discovery and the token request are each bounded by timeoutMs.
        lockMs: 2 * this.timeoutMs + 5_000,
        logger: opts.logger,
        now: this.now,
      });
  }

  /** A valid access token; one token request at a time however many callers ask. */
  async getToken(): Promise<string> {
    const cached = this.cached;
    const t = this.now();
    if (cached && t < cached.expiresAtMs) {
      if (t >= cached.refreshAtMs && !this.inflight) this.refreshInBackground();
      return cached.accessToken;
    }
    return (await this.fetchOnce(false)).accessToken;
  }

  /**
   * Auth0 refused `token` (401): forget it, unless it has already been replaced, so that many
   * calls failing with the same token cause one new token request, not one each. The next
   * fetch removes it from Redis too, unless another process has already replaced it there.
   */
  invalidate(token: string): void {
    if (this.cached !== undefined && this.cached.accessToken !== token) return;
    this.cached = undefined;
    this.rejected = token;
  }

  /** The scopes Auth0 granted with the current token. */
  async scopes(): Promise<string[]> {
    await this.getToken();
    return [...(this.cached?.scopes ?? [])];
  }

  /** `fresh`: a token not yet due for refresh (one due is still good for a foreground caller). */
  private fetchOnce(fresh: boolean): Promise<CachedToken> {
    if (!this.inflight) {
      const rejected = this.rejected;
      this.rejected = undefined;
      const obtained = this.fleet
        ? this.fleet.obtain(() => this.fetchToken(), { fresh, rejected })
        : this.fetchToken();
      const flight = obtained
        .then((token) => {
          this.cached = token;
          return token;
        })
        .finally(() => {
          if (this.inflight === flight) this.inflight = undefined;
        });
      this.inflight = flight;
    }
    return this.inflight;
  }

  private refreshInBackground(): void {
    this.fetchOnce(true).catch((err: unknown) => {
      this.opts.logger?.warn(
        { err },
        "refreshing the Auth0 token ahead of expiry failed; the current one is still used",
      );
    });
  }

  private discover(): Promise<oidc.Configuration> {
    if (!this.configuration) {
      const attempt = this.runDiscovery();
      this.configuration = attempt;
      // A failed discovery is not kept: the next token request tries again.
      attempt.catch(() => {
        if (this.configuration === attempt) this.configuration = undefined;
      });
    }
    return this.configuration;
  }

  private async runDiscovery(): Promise<oidc.Configuration> {
    const { url } = this;
    const insecure = url.protocol === "http:";
    if (insecure && !isLoopbackHost(url.hostname)) {
      throw new TokenRequestError(
        `refusing to talk to Auth0 over http:// at ${url.host} (only loopback hosts may use http)`,
        { reason: "insecure_url" },
      );
    }
    const timeoutSec = this.timeoutMs / 1000;
    try {
      const config = await oidc.discovery(
        url,
        this.opts.clientId,
        undefined,
        oidc.ClientSecretPost(this.opts.clientSecret),
        {
          execute: insecure ? [oidc.allowInsecureRequests] : [],
          [oidc.customFetch]: this.opts.transport.fetch,
          timeout: timeoutSec,
        },
      );
      // discovery() copies the timeout, but without it token requests would wait 30 s.
      config.timeout = timeoutSec;
      return config;
    } catch (err) {
      throw await toTokenError(err, {
        what: "Auth0's OpenID configuration",
        host: url.host,
        audience: this.opts.audience,
        timeoutMs: this.timeoutMs,
      });
    }
  }

  private async fetchToken(): Promise<CachedToken> {
    const config = await this.discover();
    const sentAt = this.now();
    this.tokenFetches++;
    let response: Awaited<ReturnType<typeof oidc.clientCredentialsGrant>>;
    try {
      response = await oidc.clientCredentialsGrant(config, { audience: this.opts.audience });
    } catch (err) {
      throw await toTokenError(err, {
        what: "a token",
        host: this.url.host,
        audience: this.opts.audience,
        timeoutMs: this.timeoutMs,
      });
    }
    const lifetimeMs = (response.expires_in ?? DEFAULT_EXPIRES_IN_SEC) * 1000;
    const marginMs = Math.min((this.opts.refreshMarginSec ?? 300) * 1000, lifetimeMs * 0.1);
    // Measured from when the request was sent, so the estimate errs on the early side.
    const expiresAtMs = sentAt + lifetimeMs - Math.min(EXPIRY_GUARD_MS, marginMs / 2);
    const scopes = (response.scope ?? "").split(" ").filter(Boolean);
    this.opts.logger?.debug(
      { ms: this.now() - sentAt, expiresInSec: response.expires_in, scopes },
      "fetched an Auth0 Management API token",
    );
    return {
      accessToken: response.access_token,
      refreshAtMs: sentAt + lifetimeMs - marginMs,
      expiresAtMs,
      scopes,
    };
  }
}

interface TokenErrorContext {
  /** What was being fetched: "a token", "Auth0's OpenID configuration". */
  what: string;
  host: string;
  audience: string;
  timeoutMs: number;
}

const MANAGEMENT_API_GRANTS = "APIs → Auth0 Management API → Machine to Machine Applications";

/**
 * Turns whatever openid-client threw into a TokenRequestError that says what to do, with a
 * typed reason. The only place that reads Auth0's words (`error_description`): that text is
 * the wire format, and callers switch on the reason instead.
 */
async function toTokenError(err: unknown, ctx: TokenErrorContext): Promise<TokenRequestError> {
  if (err instanceof TokenRequestError) return err;
  if (err instanceof oidc.ResponseBodyError) {
    return fromOAuthError(err.status, err.error, err.error_description, ctx, err);
  }
  if (err instanceof oidc.WWWAuthenticateChallengeError) {
    return fromOAuthError(err.status, "access_denied", undefined, ctx, err);
  }
  const network = networkFailure(err, ctx.timeoutMs);
  if (network) {
    return new TokenRequestError(
      `could not reach Auth0 at ${ctx.host} for ${ctx.what}: ${network.reason}`,
      { reason: "unreachable", cause: err },
    );
  }
  if (err instanceof oidc.ClientError) {
    const response = err.cause;
    if (isResponse(response)) {
      // openid-client leaves a non-OAuth answer's body unread; release the connection.
      await response.body?.cancel().catch(() => undefined);
      const { status } = response;
      const answer =
        status === 200
          ? "answered with something that is not JSON"
          : `answered ${statusLine(status)}`;
      return new TokenRequestError(`Auth0 ${answer} when asked for ${ctx.what}`, {
        reason: statusReason(status) ?? "bad_answer",
        status,
        cause: err,
      });
    }
    if (err.code === "OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED") {
      return new TokenRequestError(
        `the OpenID configuration at ${ctx.host} names a different issuer (check AUTH0_DOMAIN: use the tenant's canonical domain)`,
        { reason: "issuer_mismatch", cause: err },
      );
    }
    return new TokenRequestError(
      `Auth0's answer when asked for ${ctx.what} was unusable: ${err.message}`,
      { reason: "bad_answer", cause: err },
    );
  }
  return new TokenRequestError(`asking Auth0 for ${ctx.what} failed`, {
    reason: "other",
    cause: err,
  });
}

/** What an HTTP status alone says about a token request, whatever the body. */
function statusReason(status: number): TokenFailureReason | undefined {
  if (status === 429) return "rate_limited";
  if (status >= 500) return "server_error";
  if (status === 401) return "invalid_client";
  return undefined;
}

/**
 * Which refusal Auth0 meant. It tells an unknown audience, a missing client grant and a refused
 * grant type apart only in `error_description` (the `error` is access_denied or
 * unauthorized_client for all three), so its wording is read here and nowhere else.
 */
function oauthReason(
  status: number,
  error: string | undefined,
  description: string,
): TokenFailureReason {
  const byStatus = statusReason(status);
  if (byStatus) return byStatus;
  if (error === "invalid_client") return "invalid_client";
  if (/service not enabled within domain/i.test(description)) return "unknown_audience";
  if (/not authorized to access resource server/i.test(description)) {
    return "not_authorized_for_api";
  }
  if (/grant type/i.test(description)) return "grant_type_not_allowed";
  return "refused";
}

function fromOAuthError(
  status: number,
  error: string | undefined,
  description: string | undefined,
  ctx: TokenErrorContext,
  cause: unknown,
): TokenRequestError {
  const reason = oauthReason(status, error, description ?? "");
  return new TokenRequestError(oauthMessage(reason, status, error, description, ctx), {
    reason,
    error,
    description,
    status,
    cause,
  });
}

function oauthMessage(
  reason: TokenFailureReason,
  status: number,
  error: string | undefined,
  description: string | undefined,
  ctx: TokenErrorContext,
): string {
  switch (reason) {
    case "rate_limited":
      return "Auth0 is limiting token requests; try again shortly";
    case "server_error":
      return `Auth0 answered ${statusLine(status)} when asked for ${ctx.what}`;
    case "invalid_client":
      return "Auth0 rejected the client credentials (check AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET)";
    case "unknown_audience":
      return (
        `Auth0 refused the audience ${ctx.audience}: no API with that identifier exists in this tenant ` +
        "(check AUTH0_AUDIENCE; the Management API's is https://TENANT-DOMAIN/api/v2/ with the trailing slash)"
      );
    case "not_authorized_for_api":
      return `the Auth0 application is not authorized for ${ctx.audience} (authorize it under ${MANAGEMENT_API_GRANTS})`;
    case "grant_type_not_allowed":
      return "the Auth0 application may not use the Client Credentials grant (enable it under Applications → the application → Advanced Settings → Grant Types)";
    default:
      return `Auth0 refused ${ctx.what} (${[error, description].filter(Boolean).join(": ") || status})`;
  }
}

/** "503 Service Unavailable" */
function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ""}`.trimEnd();
}

function isResponse(value: unknown): value is Response {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Response).status === "number" &&
    typeof (value as Response).headers === "object" &&
    "body" in value
  );
}
