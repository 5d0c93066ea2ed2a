/**
 * The tenant's authorization server: OIDC discovery, `POST /oauth/token` for the
 * client-credentials grant (client_secret_post, client_secret_basic, or private_key_jwt, whose
 * assertions client-assertion.ts checks), and the check of the bearer tokens it issued when they
 * come back on a Management API request. What the application may do (grant types, a client
 * grant for the API) and the issuer it names can be changed.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { type ClientAssertions, JWT_BEARER } from "./client-assertion.js";
import { type Answer, auth0Error } from "./errors.js";
import type { Auth0Request } from "./types.js";

/** A token this tenant issued: what it may do and until when. */
export interface IssuedToken {
  scopes: string[];
  expiresAtMs: number;
  revoked: boolean;
}

export interface OAuthServerOptions {
  /** http://127.0.0.1:PORT */
  url: string;
  audience: string;
  clientId: string;
  clientSecret: string;
  /** The application's registered public keys: with any, it authenticates by private_key_jwt. */
  assertions: ClientAssertions;
  tokenExpiresIn: number;
}

export interface OAuthServer {
  /** `/.well-known/openid-configuration`. */
  discovery(): Record<string, unknown>;
  /** Answers a request to /oauth/token, granting the scopes `scopes` names now. */
  token(record: Auth0Request, bodyError: boolean, scopes: readonly string[]): Answer;
  /** The token behind an `Authorization: Bearer …` header, or the 401 that refuses it. */
  authenticate(
    authorization: string | undefined,
  ): { bearer?: string } & ({ token: IssuedToken } | { refused: Answer });
  /** How many tokens were issued since the start or the last reset(). */
  readonly issued: number;
  revokeAll(): void;
  setClientGrant(on: boolean): void;
  setGrantTypes(grantTypes: string[]): void;
  setIssuer(issuer: string | undefined): void;
  /** Forgets every token issued, and the changes made by the setters. */
  reset(): void;
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The client id and secret, from the form or from HTTP Basic (which wins). */
function clientCredentials(
  params: Record<string, unknown>,
  authorization: string | undefined,
): { id?: string; secret?: string } {
  let id = typeof params.client_id === "string" ? params.client_id : undefined;
  let secret = typeof params.client_secret === "string" ? params.client_secret : undefined;
  const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " "));
    }
  }
  return { id, secret };
}

const MISSING_GRANT: Answer = [
  400,
  { error: "invalid_request", error_description: "Missing required parameter: grant_type" },
];
const UNAUTHORIZED: Answer = [401, { error: "access_denied", error_description: "Unauthorized" }];

/**
 * Undefined when the request proves the application, by its secret or by a client assertion;
 * else the refusal. An application with a registered key uses that, and its secret is refused.
 */
function authenticateClient(
  params: Record<string, unknown>,
  authorization: string | undefined,
  options: OAuthServerOptions,
): Answer | undefined {
  const { id, secret } = clientCredentials(params, authorization);
  const { assertions } = options;
  if (params.client_assertion !== undefined || params.client_assertion_type !== undefined) {
    if (secret !== undefined) {
      return [
        400,
        {
          error: "invalid_request",
          error_description: "Only one client authentication method may be used",
        },
      ];
    }
    if (params.client_assertion_type !== JWT_BEARER) {
      return [
        400,
        {
          error: "invalid_request",
          error_description: `client_assertion_type must be ${JWT_BEARER}`,
        },
      ];
    }
    // Auth0 takes the tenant's URL (what openid-client sends: the issuer) or its token endpoint.
    const audiences = [`${options.url}/`, `${options.url}/oauth/token`];
    return assertions.verify(params.client_assertion, id, audiences);
  }
  if (!id || !secret || !safeEqual(id, options.clientId)) return UNAUTHORIZED;
  if (!safeEqual(secret, options.clientSecret)) return UNAUTHORIZED;
  if (assertions.keys.length > 0) {
    return [
      401,
      {
        error: "invalid_client",
        error_description:
          "The client authenticates with private_key_jwt: its client secret is not accepted",
      },
    ];
  }
  return undefined;
}

export function oauthServer(options: OAuthServerOptions): OAuthServer {
  const { url, audience, clientId, tokenExpiresIn } = options;
  const tokens = new Map<string, IssuedToken>();
  let issued = 0;
  let clientGrant = true;
  let grantTypes = ["client_credentials"];
  let issuer: string | undefined;

  const issue = (scopes: readonly string[]): Answer => {
    const iat = Math.floor(Date.now() / 1000);
    // Shaped like Auth0's (a JWT); opaque to the client, unsigned here.
    const accessToken = [
      b64url({ alg: "RS256", typ: "JWT", kid: "emulator" }),
      b64url({
        iss: `${url}/`,
        sub: `${clientId}@clients`,
        aud: audience,
        iat,
        exp: iat + tokenExpiresIn,
        scope: scopes.join(" "),
        gty: "client-credentials",
        azp: clientId,
        jti: randomBytes(8).toString("hex"),
      }),
      randomBytes(32).toString("base64url"),
    ].join(".");
    tokens.set(accessToken, {
      scopes: [...scopes],
      expiresAtMs: Date.now() + tokenExpiresIn * 1000,
      revoked: false,
    });
    issued++;
    return [
      200,
      {
        access_token: accessToken,
        scope: scopes.join(" "),
        expires_in: tokenExpiresIn,
        token_type: "Bearer",
      },
    ];
  };

  return {
    discovery: () => discoveryDocument(url, issuer),
    token(record, bodyError, scopes) {
      if (bodyError || typeof record.body !== "object" || record.body === null) {
        return MISSING_GRANT;
      }
      const params = record.body as Record<string, unknown>;
      if (!params.grant_type) return MISSING_GRANT;
      const refused = authenticateClient(params, record.headers.authorization, options);
      if (refused) return refused;
      if (typeof params.grant_type !== "string" || !grantTypes.includes(params.grant_type)) {
        return [
          403,
          {
            error: "unauthorized_client",
            error_description: `Grant type '${String(params.grant_type)}' not allowed for the client.`,
          },
        ];
      }
      if (typeof params.audience !== "string" || params.audience === "") {
        return [
          403,
          {
            error: "access_denied",
            error_description:
              "No audience parameter was provided, and no default audience has been configured",
          },
        ];
      }
      if (params.audience !== audience) {
        return [
          403,
          {
            error: "access_denied",
            error_description: `Service not enabled within domain: ${params.audience}`,
          },
        ];
      }
      if (!clientGrant) {
        return [
          403,
          {
            error: "access_denied",
            error_description: `Client "${clientId}" is not authorized to access resource server "${audience}". You need to create a "client-grant" associated to this API.`,
          },
        ];
      }
      return issue(scopes);
    },

    authenticate(authorization) {
      const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
      if (!bearer) return { refused: [401, auth0Error(401, "Missing authentication")] };
      const token = tokens.get(bearer);
      if (!token || token.revoked) {
        const body = auth0Error(401, "Invalid token", undefined, {
          attributes: { error: "Invalid token" },
        });
        return { bearer, refused: [401, body] };
      }
      if (Date.now() >= token.expiresAtMs) {
        const message = "Expired token received for JSON Web Token validation";
        const body = auth0Error(401, message, undefined, { attributes: { error: message } });
        return { bearer, refused: [401, body] };
      }
      return { bearer, token };
    },

    get issued() {
      return issued;
    },
    revokeAll() {
      for (const t of tokens.values()) t.revoked = true;
    },
    setClientGrant(on) {
      clientGrant = on;
    },
    setGrantTypes(next) {
      grantTypes = [...next];
    },
    setIssuer(next) {
      issuer = next;
    },
    reset() {
      tokens.clear();
      issued = 0;
      clientGrant = true;
      grantTypes = ["client_credentials"];
      issuer = undefined;
    },
  };
}

/** `/.well-known/openid-configuration`, as a tenant at `url` publishes it. */
function discoveryDocument(url: string, issuer = `${url}/`): Record<string, unknown> {
  return {
    issuer,
    authorization_endpoint: `${url}/authorize`,
    token_endpoint: `${url}/oauth/token`,
    device_authorization_endpoint: `${url}/oauth/device/code`,
    userinfo_endpoint: `${url}/userinfo`,
    mfa_challenge_endpoint: `${url}/mfa/challenge`,
    jwks_uri: `${url}/.well-known/jwks.json`,
    registration_endpoint: `${url}/oidc/register`,
    revocation_endpoint: `${url}/oauth/revoke`,
    scopes_supported: ["openid", "profile", "offline_access", "name", "email", "email_verified"],
    response_types_supported: [
      "code",
      "token",
      "id_token",
      "code token",
      "code id_token",
      "token id_token",
      "code token id_token",
    ],
    code_challenge_methods_supported: ["S256", "plain"],
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["public"],
    token_endpoint_auth_methods_supported: [
      "client_secret_basic",
      "client_secret_post",
      "private_key_jwt",
    ],
    grant_types_supported: [
      "authorization_code",
      "implicit",
      "refresh_token",
      "client_credentials",
      "urn:ietf:params:oauth:grant-type:device_code",
    ],
    // Auth0 lists RS256, RS384 and PS256; the emulator also verifies ES256.
    token_endpoint_auth_signing_alg_values_supported: ["RS256", "RS384", "PS256", "ES256"],
    id_token_signing_alg_values_supported: ["HS256", "RS256", "PS256"],
    request_uri_parameter_supported: false,
    request_parameter_supported: false,
    end_session_endpoint: `${url}/oidc/logout`,
  };
}
