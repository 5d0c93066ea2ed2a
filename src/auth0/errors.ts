import { STATUS_CODES } from "node:http";
import { redactSecrets } from "../log.js";

/**
 * Every error the Auth0 client throws says whether retrying can help (`retryable`) and has a
 * `userMessage` a person can act on. None of them ever holds a token or a client secret.
 */
abstract class Auth0ClientError extends Error {
  abstract readonly retryable: boolean;

  /** What went wrong, in words a person can act on; `errorInWords` prefers these. */
  get userMessage(): string {
    return this.message;
  }
}

const GRANT_HINT = "grant it under APIs → Auth0 Management API → Machine to Machine Applications";

export interface ManagementApiErrorInit {
  status: number;
  method: string;
  path: string;
  errorCode?: string;
  /** Auth0's `message` field. */
  auth0Message?: string;
  /** Auth0's `error` field, the HTTP reason phrase ("Forbidden"). */
  auth0Error?: string;
  retryable?: boolean;
  retryAfterMs?: number;
  /** Our own words, when the problem is not something Auth0 said (e.g. a change not applied). */
  detail?: string;
  cause?: unknown;
}

/** Auth0's Management API answered, and the answer was not what we asked for. */
export class ManagementApiError extends Auth0ClientError {
  override readonly name = "ManagementApiError";
  readonly status: number;
  readonly errorCode?: string;
  readonly auth0Message?: string;
  readonly auth0Error?: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly method: string;
  readonly path: string;
  readonly detail?: string;

  constructor(init: ManagementApiErrorInit) {
    const auth0Message =
      init.auth0Message === undefined ? undefined : redactSecrets(init.auth0Message);
    const said = [init.errorCode, auth0Message].filter(Boolean).join(": ");
    super(
      init.detail
        ? `Auth0 ${init.method} ${init.path}: ${init.detail}`
        : `Auth0 ${init.method} ${init.path} answered ${init.status}${said ? ` ${said}` : ""}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.errorCode = init.errorCode;
    this.auth0Message = auth0Message;
    this.auth0Error = init.auth0Error;
    this.retryAfterMs = init.retryAfterMs;
    this.detail = init.detail;
    this.retryable = init.retryable ?? isRetryableStatus(init.status);
  }

  override get userMessage(): string {
    if (this.detail) return this.detail;
    const { status, errorCode } = this;
    const said = this.auth0Message ? `: ${this.auth0Message}` : "";
    if (status === 429) {
      const after =
        this.retryAfterMs === undefined ? "a pause" : `${Math.ceil(this.retryAfterMs / 1000)} s`;
      return `Auth0 rate limit reached; retrying after ${after}`;
    }
    if (status >= 500) return `Auth0 answered ${status} ${this.reason()}`;
    if (status === 401) {
      return (
        "Auth0 rejected the Management API token even after a fresh one was fetched " +
        "(is the application still authorized for the Auth0 Management API?)"
      );
    }
    if (status === 403 && errorCode === "insufficient_scope") {
      return `the Auth0 application lacks the ${this.missingScope()} scope (${GRANT_HINT})`;
    }
    if (status === 404 && errorCode === "inexistent_connection") {
      const id = this.connectionId();
      return id
        ? `no connection with id ${id} exists in this tenant`
        : "the connection does not exist in this tenant";
    }
    if (status === 404) return `Auth0 found nothing at ${this.path}${said}`;
    if (status === 400 && errorCode === "invalid_body") {
      return `Auth0 refused the change it was sent${said}`;
    }
    if (status === 400) return `Auth0 refused the request${said}`;
    if (status === 403) return `Auth0 refused the request${said}`;
    return `Auth0 answered ${status} ${this.reason()}${said}`;
  }

  private reason(): string {
    return this.auth0Error ?? STATUS_CODES[this.status] ?? "";
  }

  /** The scope Auth0 asked for ("expected any of: a, b"), else the one this call needs. */
  private missingScope(): string {
    const expected = /expected any of:\s*([\w:, -]+)/i.exec(this.auth0Message ?? "")?.[1];
    const scopes = expected
      ?.split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (scopes && scopes.length > 0) return scopes.join(" or ");
    if (this.path.startsWith("/api/v2/tenants")) return "read:tenant_settings";
    if (this.path.startsWith("/api/v2/connections")) {
      return this.method === "GET" ? "read:connections" : "update:connections";
    }
    return "required";
  }

  private connectionId(): string | undefined {
    const raw = /^\/api\/v2\/connections\/([^/?#]+)/.exec(this.path)?.[1];
    if (!raw) return undefined;
    try {
      return decodeURIComponent(raw);
    } catch {
      return raw;
    }
  }
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Auth0 could not be reached at all: refused, reset, timed out, name not resolved. */
export class Auth0UnreachableError extends Auth0ClientError {
  override readonly name = "Auth0UnreachableError";
  readonly retryable = true;
  readonly host: string;
  /** The network error's code (ECONNRESET, UND_ERR_HEADERS_TIMEOUT, …) when there is one. */
  readonly code?: string;

  constructor(host: string, reason: string, options: { code?: string; cause?: unknown } = {}) {
    super(`could not reach Auth0 at ${host}: ${reason}`, { cause: options.cause });
    this.host = host;
    this.code = options.code;
  }
}

/**
 * Why a token could not be had, for callers to switch on (the doctor picks its fix by it). Set
 * where openid-client's failure is turned into a TokenRequestError, the one place that reads
 * Auth0's wording.
 */
export type TokenFailureReason =
  /** No answer: refused, reset, timed out, the name did not resolve. */
  | "unreachable"
  /** An http:// tenant URL that is not a loopback host; nothing was sent. */
  | "insecure_url"
  /** Auth0 rejected the client id or secret (invalid_client, or a 401). */
  | "invalid_client"
  /**
   * private_key_jwt: the assertion's signature did not verify against a public key registered
   * with the application (no key registered, another key, a kid or algorithm it does not know).
   */
  | "client_assertion_key_rejected"
  /**
   * private_key_jwt: the assertion was signed right but its claims were refused (expired, too
   * long-lived, issued in the future, a reused jti, another audience): usually this host's clock.
   */
  | "client_assertion_claims_rejected"
  /** The audience names no API in this tenant ("Service not enabled within domain"). */
  | "unknown_audience"
  /** The application has no grant for the API ("not authorized to access resource server"). */
  | "not_authorized_for_api"
  /** The application may not use the Client Credentials grant. */
  | "grant_type_not_allowed"
  /** The discovery document names another issuer (a custom domain, not the tenant's own). */
  | "issuer_mismatch"
  /** 429: Auth0 is limiting token requests. */
  | "rate_limited"
  /** 5xx: Auth0 failed. */
  | "server_error"
  /** Something answered, but not with anything usable (not JSON, an unexpected status). */
  | "bad_answer"
  /** Auth0 refused with an OAuth error none of the above names. */
  | "refused"
  /** Anything else. */
  | "other";

/** Asking again later can help only when nothing, or an overloaded Auth0, answered. */
const RETRYABLE_TOKEN_FAILURES: ReadonlySet<TokenFailureReason> = new Set([
  "unreachable",
  "rate_limited",
  "server_error",
]);

export interface TokenRequestErrorInit {
  reason: TokenFailureReason;
  /** The OAuth `error` Auth0 answered (access_denied, unauthorized_client, …). */
  error?: string;
  /** Auth0's `error_description`. */
  description?: string;
  status?: number;
  cause?: unknown;
}

/** The client-credentials token (or the discovery before it) could not be obtained. */
export class TokenRequestError extends Auth0ClientError {
  override readonly name = "TokenRequestError";
  readonly reason: TokenFailureReason;
  readonly retryable: boolean;
  readonly error?: string;
  readonly description?: string;
  readonly status?: number;

  constructor(message: string, init: TokenRequestErrorInit) {
    super(redactSecrets(message), init.cause === undefined ? undefined : { cause: init.cause });
    this.reason = init.reason;
    this.retryable = RETRYABLE_TOKEN_FAILURES.has(init.reason);
    this.error = init.error;
    this.description = init.description === undefined ? undefined : redactSecrets(init.description);
    this.status = init.status;
  }
}

/** A value that must not reach an Auth0 URL (malformed id or name); nothing was sent. */
export class InvalidIdentifierError extends Auth0ClientError {
  override readonly name = "InvalidIdentifierError";
  readonly retryable = false;
}

export type Auth0Error =
  | ManagementApiError
  | Auth0UnreachableError
  | TokenRequestError
  | InvalidIdentifierError;

export function isAuth0Error(err: unknown): err is Auth0Error {
  return (
    err instanceof ManagementApiError ||
    err instanceof Auth0UnreachableError ||
    err instanceof TokenRequestError ||
    err instanceof InvalidIdentifierError
  );
}

/** True when trying the same call again later may succeed. Unknown errors are not retryable. */
export function isRetryable(err: unknown): boolean {
  return isAuth0Error(err) && err.retryable;
}

const TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
  "OAUTH_TIMEOUT",
]);
const RESET_CODES = new Set(["ECONNRESET", "UND_ERR_SOCKET", "EPIPE", "UND_ERR_CLOSED"]);

/**
 * Recognizes a network failure (undici, Node or fetch's TypeError wrapping one) anywhere in an
 * error's cause chain and says what happened in a few words. Undefined when it is not one.
 */
export function networkFailure(
  err: unknown,
  timeoutMs?: number,
): { reason: string; code?: string } | undefined {
  const timedOut = timeoutMs === undefined ? "timed out" : `timed out after ${timeoutMs} ms`;
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") {
      if (TIMEOUT_CODES.has(code)) return { reason: timedOut, code };
      if (RESET_CODES.has(code)) return { reason: "the connection was reset", code };
      if (code === "ECONNREFUSED") return { reason: "the connection was refused", code };
      if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
        return { reason: "the host name did not resolve", code };
      }
      if (code === "UND_ERR_ABORTED" || code === "ABORT_ERR") {
        return { reason: "the request was aborted", code };
      }
      if (/^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code))
        return { reason: `network error ${code}`, code };
    }
    if (current.name === "TimeoutError") return { reason: timedOut, code: "TimeoutError" };
    if (current.name === "AbortError")
      return { reason: "the request was aborted", code: "AbortError" };
    current = current.cause;
  }
  if (err instanceof TypeError && err.message === "fetch failed")
    return { reason: "network error" };
  return undefined;
}
