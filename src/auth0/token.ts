import * as oidc from "openid-client";
import { isLoopbackHost } from "../config.js";
import type { Auth0Credential } from "../config-credential.js";
import type { Logger } from "../log.js";
import type { RedisClient } from "../redis.js";
import { clientAuthentication, sealingCredential } from "./client-auth.js";
import { TokenRequestError } from "./errors.js";
import { SharedTokenCache } from "./token-cache.js";
import { type TokenErrorContext, toTokenError } from "./token-errors.js";
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
  /** A client secret, or a private key that signs a client assertion (private_key_jwt). */
  credential: Auth0Credential;
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
        credential: sealingCredential(opts.credential),
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
        await clientAuthentication(this.opts.credential),
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
      throw await toTokenError(err, this.errorContext("Auth0's OpenID configuration"));
    }
  }

  private errorContext(what: string): TokenErrorContext {
    return {
      what,
      host: this.url.host,
      audience: this.opts.audience,
      timeoutMs: this.timeoutMs,
      credential: this.opts.credential.kind,
    };
  }

  private async fetchToken(): Promise<CachedToken> {
    const config = await this.discover();
    const sentAt = this.now();
    this.tokenFetches++;
    let response: Awaited<ReturnType<typeof oidc.clientCredentialsGrant>>;
    try {
      response = await oidc.clientCredentialsGrant(config, { audience: this.opts.audience });
    } catch (err) {
      throw await toTokenError(err, this.errorContext("a token"));
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
