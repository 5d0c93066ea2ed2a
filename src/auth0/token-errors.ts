import { STATUS_CODES } from "node:http";
import * as oidc from "openid-client";
import type { Auth0Credential } from "../config-credential.js";
import { networkFailure, type TokenFailureReason, TokenRequestError } from "./errors.js";

/**
 * Turns whatever openid-client threw while asking for a token into a TokenRequestError that says
 * what to do, with a typed reason. The only place that reads Auth0's words
 * (`error_description`): that text is the wire format, and callers switch on the reason instead.
 */

export interface TokenErrorContext {
  /** What was being fetched: "a token", "Auth0's OpenID configuration". */
  what: string;
  host: string;
  audience: string;
  timeoutMs: number;
  /** How the application proved itself: a refusal is read, and worded, for that. */
  credential: Auth0Credential["kind"];
}

const MANAGEMENT_API_GRANTS = "APIs → Auth0 Management API → Machine to Machine Applications";

export async function toTokenError(
  err: unknown,
  ctx: TokenErrorContext,
): Promise<TokenRequestError> {
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
  credential: TokenErrorContext["credential"],
): TokenFailureReason {
  if (credential === "private_key_jwt" && status < 500 && status !== 429) {
    const assertion = assertionReason(description);
    if (assertion) return assertion;
  }
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

/**
 * A refused client assertion: Auth0 answers invalid_client for all of them, and says in words
 * whether the key (signature, kid, algorithm, no credential registered) or a claim was refused.
 */
function assertionReason(description: string): TokenFailureReason | undefined {
  if (/signature|\bkid\b|\balg\b|algorithm|credential|public key/i.test(description)) {
    return "client_assertion_key_rejected";
  }
  if (/\b(exp|iat|nbf|jti|aud|iss|sub)\b|claim|expired/i.test(description)) {
    return "client_assertion_claims_rejected";
  }
  return undefined;
}

function fromOAuthError(
  status: number,
  error: string | undefined,
  description: string | undefined,
  ctx: TokenErrorContext,
  cause: unknown,
): TokenRequestError {
  const reason = oauthReason(status, error, description ?? "", ctx.credential);
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
      return ctx.credential === "secret"
        ? "Auth0 rejected the client credentials (check AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET)"
        : "Auth0 rejected the client (check AUTH0_CLIENT_ID, and that the application authenticates with Private Key JWT using the public half of AUTH0_PRIVATE_KEY_FILE)";
    case "client_assertion_key_rejected":
      return `Auth0 did not accept the private key's signature (${description ?? error}): the application's credentials must hold its public key (check AUTH0_PRIVATE_KEY_FILE and AUTH0_PRIVATE_KEY_ID)`;
    case "client_assertion_claims_rejected":
      return `Auth0 refused the client assertion's claims (${description ?? error}): check this host's clock`;
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
