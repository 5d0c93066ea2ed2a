import { randomBytes, timingSafeEqual } from "node:crypto";
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * A loopback Auth0 tenant that speaks the documented wire formats: OIDC discovery, the
 * client-credentials token endpoint, the Management API v2 connections and tenant-settings
 * endpoints, Auth0's error bodies, its token-bucket rate limit with the x-ratelimit-* headers,
 * and injectable faults. Every request is recorded so tests can assert what Auth0 received.
 * Used by the tests and by `npm run demo`; the bot itself never imports it.
 */

export interface EmulatedConnection {
  id: string;
  name: string;
  display_name?: string;
  strategy: string;
  is_domain_connection: boolean;
  options?: Record<string, unknown>;
  enabled_clients?: string[];
  realms?: string[];
  metadata?: Record<string, string>;
  show_as_button?: boolean;
}

export interface Auth0Request {
  method: string;
  /** The path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  /** Parsed JSON or form body (undefined when there was none). */
  body: unknown;
  /** The status answered; 0 when the connection was reset or the answer never went out. */
  status: number;
  /** Epoch milliseconds with sub-millisecond precision, when the request arrived. */
  at: number;
  /** The bearer token presented, for API requests. */
  token?: string;
  /** Headers of the answer (x-ratelimit-*, …), once it went out. */
  responseHeaders?: Record<string, string>;
}

export interface Auth0FaultSpec {
  method?: string;
  /** A RegExp tested against the path, or a path prefix. */
  path?: RegExp | string;
  /** How many matching requests this fault answers (default 1). */
  times?: number;
  /** `html`: 200 with an HTML page, as a proxy's login page or a host that is not Auth0 gives. */
  kind: "status" | "delay" | "reset" | "ratelimit" | "html";
  status?: number;
  delayMs?: number;
  resetInSec?: number;
}

export interface Auth0EmulatorOptions {
  clientId?: string;
  clientSecret?: string;
  /** Scopes granted to tokens (default read:connections update:connections read:tenant_settings). */
  scopes?: string[];
  tokenExpiresIn?: number;
  /** The Management API bucket; default: not enforced, headers report a generous bucket. */
  rateLimit?: { perSecond: number; burst: number };
  dynamicClientRegistration?: boolean;
  connections?: EmulatedConnection[];
}

export interface Auth0Emulator {
  /** http://127.0.0.1:PORT, what AUTH0_DOMAIN gets. */
  url: string;
  /** `${url}/api/v2/` */
  audience: string;
  clientId: string;
  clientSecret: string;
  /** Every request, in arrival order, token requests included. */
  requests: Auth0Request[];
  apiRequests(method?: string, pathPrefix?: string): Auth0Request[];
  tokensIssued: number;
  addConnection(c: EmulatedConnection): void;
  connection(id: string): EmulatedConnection | undefined;
  setScopes(scopes: string[]): void;
  setDynamicClientRegistration(on: boolean): void;
  /** Whether the application is authorized for the Management API (has a client grant). */
  setClientGrant(on: boolean): void;
  /** The grant types the application may use (default: client_credentials). */
  setGrantTypes(grantTypes: string[]): void;
  /** The issuer discovery names (default `${url}/`); a custom domain's differs. */
  setIssuer(issuer: string | undefined): void;
  revokeTokens(): void;
  setRateLimit(rl: { perSecond: number; burst: number } | undefined): void;
  injectFault(f: Auth0FaultSpec): void;
  waitFor<T>(
    predicate: () => T | undefined | null | false,
    opts?: { timeoutMs?: number; what?: string },
  ): Promise<T>;
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_SCOPES = ["read:connections", "update:connections", "read:tenant_settings"];
/** Headers reported when no rate limit is configured. */
const GENEROUS = { perSecond: 1000, burst: 1000 };
const CONNECTION_ID = /^con_[A-Za-z0-9]{16}$/;
const PATCHABLE = new Set([
  "display_name",
  "options",
  "enabled_clients",
  "is_domain_connection",
  "show_as_button",
  "realms",
  "metadata",
  "authentication",
  "connected_accounts",
]);
const MAX_BODY_BYTES = 1024 * 1024;

interface IssuedToken {
  scopes: string[];
  expiresAtMs: number;
  revoked: boolean;
}

interface Fault extends Auth0FaultSpec {
  remaining: number;
}

class Bucket {
  private tokens: number;
  private updatedAt = performance.now();

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    readonly enforced: boolean,
  ) {
    this.tokens = burst;
  }

  private refill(): void {
    const t = performance.now();
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((t - this.updatedAt) / 1000) * this.perSecond,
    );
    this.updatedAt = t;
  }

  /** Takes a token if there is one (always, when not enforced). */
  take(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    if (!this.enforced) return true;
    return false;
  }

  headers(): Record<string, string> {
    this.refill();
    const tokens = Math.max(0, this.tokens);
    // x-ratelimit-reset: UNIX seconds at which the bucket is full again.
    const fullAtMs = Date.now() + ((this.burst - tokens) / this.perSecond) * 1000;
    return {
      "x-ratelimit-limit": String(this.burst),
      "x-ratelimit-remaining": String(Math.floor(tokens)),
      "x-ratelimit-reset": String(Math.ceil(fullAtMs / 1000)),
    };
  }
}

function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function auth0Error(
  status: number,
  message: string,
  errorCode?: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    statusCode: status,
    error: STATUS_CODES[status] ?? "Error",
    message,
    ...(errorCode ? { errorCode } : {}),
    ...extra,
  };
}

export async function startAuth0Emulator(
  options: Auth0EmulatorOptions = {},
): Promise<Auth0Emulator> {
  const clientId = options.clientId ?? "test-client";
  const clientSecret = options.clientSecret ?? "test-secret";
  const tokenExpiresIn = options.tokenExpiresIn ?? 86_400;
  const initialConnections = (options.connections ?? []).map((c) => structuredClone(c));

  let scopes = [...(options.scopes ?? DEFAULT_SCOPES)];
  let dcr = options.dynamicClientRegistration ?? true;
  let clientGrant = true;
  let grantTypes = ["client_credentials"];
  let issuer: string | undefined;
  let bucket = makeBucket(options.rateLimit);
  let connections = new Map(initialConnections.map((c) => [c.id, structuredClone(c)]));
  let faults: Fault[] = [];
  let closing = false;
  const tokens = new Map<string, IssuedToken>();
  const sockets = new Set<Socket>();
  /** Pending delay faults, released (unanswered) by close(). */
  const delays = new Map<NodeJS.Timeout, () => void>();

  function makeBucket(rl: { perSecond: number; burst: number } | undefined): Bucket {
    return rl
      ? new Bucket(rl.perSecond, rl.burst, true)
      : new Bucket(GENEROUS.perSecond, GENEROUS.burst, false);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, auth0Error(500, String(err)));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const audience = `${url}/api/v2/`;

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: OutgoingHttpHeaders = {},
  ): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      "cache-control": "no-cache",
      ...headers,
    });
    res.end(text);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw new Error("request body too large");
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined ||
          (typeof f.path === "string" ? path.startsWith(f.path) : f.path.test(path))),
    );
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining === 0) faults = faults.filter((f) => f !== fault);
    return fault;
  }

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        delays.delete(timer);
        resolve();
      }, ms);
      delays.set(timer, resolve);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = nowEpochMs();
    const parsed = new URL(req.url ?? "/", url);
    const method = (req.method ?? "GET").toUpperCase();
    const path = parsed.pathname;
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      headers[k] = Array.isArray(v) ? v.join(", ") : v;
    }
    const raw = await readBody(req);
    const record: Auth0Request = {
      method,
      path,
      query: Object.fromEntries(parsed.searchParams),
      headers,
      body: undefined,
      status: 0,
      at,
    };
    emulator.requests.push(record);
    const answer = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      record.status = status;
      if (res.destroyed || res.headersSent) return;
      record.responseHeaders = extra;
      send(res, status, body, extra);
    };

    let bodyError = false;
    if (raw !== "") {
      const type = headers["content-type"] ?? "";
      if (type.includes("application/x-www-form-urlencoded")) {
        record.body = Object.fromEntries(new URLSearchParams(raw));
      } else {
        try {
          record.body = JSON.parse(raw);
        } catch {
          record.body = raw;
          bodyError = true;
        }
      }
    }

    const isApi = path.startsWith("/api/v2/");
    const fault = takeFault(method, path);
    if (fault) {
      if (fault.kind === "reset") {
        req.socket.destroy();
        return;
      }
      if (fault.kind === "delay") {
        await delay(fault.delayMs ?? 1000);
        if (closing || res.destroyed) return;
      } else if (fault.kind === "html") {
        record.status = 200;
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end("<!doctype html><title>Sign in to the proxy</title>");
        return;
      } else if (fault.kind === "ratelimit") {
        const resetSec = Math.ceil((Date.now() + (fault.resetInSec ?? 1) * 1000) / 1000);
        answer(429, auth0Error(429, "Global limit has been reached", "too_many_requests"), {
          "x-ratelimit-limit": String(bucket.burst),
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(resetSec),
        });
        return;
      } else {
        const status = fault.status ?? 503;
        const message =
          status >= 500
            ? "The service is temporarily unavailable. Please try again later."
            : (STATUS_CODES[status] ?? "Error");
        answer(status, auth0Error(status, message), isApi ? bucket.headers() : {});
        return;
      }
    }

    if (method === "GET" && path === "/.well-known/openid-configuration") {
      answer(200, discoveryDocument());
      return;
    }
    if (method === "GET" && path === "/.well-known/jwks.json") {
      answer(200, { keys: [] });
      return;
    }
    if (path === "/oauth/token") {
      if (method !== "POST") {
        answer(404, auth0Error(404, "Not Found"));
        return;
      }
      const [status, body] = tokenEndpoint(record, bodyError);
      answer(status, body);
      return;
    }
    if (!isApi) {
      answer(404, auth0Error(404, "Not Found"));
      return;
    }

    // Management API: rate limit, authentication, scope, validation, then the handler.
    const allowed = bucket.take();
    const rateHeaders = bucket.headers();
    if (!allowed) {
      answer(
        429,
        auth0Error(429, "Global limit has been reached", "too_many_requests"),
        rateHeaders,
      );
      return;
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? "")?.[1];
    if (bearer) record.token = bearer;
    if (!bearer) {
      answer(401, auth0Error(401, "Missing authentication"), rateHeaders);
      return;
    }
    const issued = tokens.get(bearer);
    if (!issued || issued.revoked) {
      answer(
        401,
        auth0Error(401, "Invalid token", undefined, { attributes: { error: "Invalid token" } }),
        rateHeaders,
      );
      return;
    }
    if (Date.now() >= issued.expiresAtMs) {
      const message = "Expired token received for JSON Web Token validation";
      answer(
        401,
        auth0Error(401, message, undefined, { attributes: { error: message } }),
        rateHeaders,
      );
      return;
    }
    const [status, body] = api(method, path, record, issued, bodyError);
    answer(status, body, rateHeaders);
  }

  function discoveryDocument(): Record<string, unknown> {
    return {
      issuer: issuer ?? `${url}/`,
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
      id_token_signing_alg_values_supported: ["HS256", "RS256", "PS256"],
      request_uri_parameter_supported: false,
      request_parameter_supported: false,
      end_session_endpoint: `${url}/oidc/logout`,
    };
  }

  function tokenEndpoint(
    record: Auth0Request,
    bodyError: boolean,
  ): [number, Record<string, unknown>] {
    if (bodyError || typeof record.body !== "object" || record.body === null) {
      return [
        400,
        { error: "invalid_request", error_description: "Missing required parameter: grant_type" },
      ];
    }
    const params = record.body as Record<string, unknown>;
    let id = typeof params.client_id === "string" ? params.client_id : undefined;
    let secret = typeof params.client_secret === "string" ? params.client_secret : undefined;
    const basic = /^Basic\s+(\S+)$/i.exec(record.headers.authorization ?? "")?.[1];
    if (basic) {
      const decoded = Buffer.from(basic, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) {
        id = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " "));
        secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " "));
      }
    }
    if (!params.grant_type) {
      return [
        400,
        { error: "invalid_request", error_description: "Missing required parameter: grant_type" },
      ];
    }
    if (!id || !secret || !safeEqual(id, clientId) || !safeEqual(secret, clientSecret)) {
      return [401, { error: "access_denied", error_description: "Unauthorized" }];
    }
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
    emulator.tokensIssued++;
    return [
      200,
      {
        access_token: accessToken,
        scope: scopes.join(" "),
        expires_in: tokenExpiresIn,
        token_type: "Bearer",
      },
    ];
  }

  function insufficientScope(
    granted: string[],
    needed: string,
  ): [number, Record<string, unknown>] | undefined {
    if (granted.includes(needed)) return undefined;
    return [
      403,
      auth0Error(403, `Insufficient scope, expected any of: ${needed}`, "insufficient_scope"),
    ];
  }

  function invalidId(id: string, what: string): [number, Record<string, unknown>] | undefined {
    if (CONNECTION_ID.test(id)) return undefined;
    return [
      400,
      auth0Error(
        400,
        `Path validation error: 'String does not match pattern ^con_[A-Za-z0-9]{16}$: ${id}' on property id (${what}).`,
        "invalid_uri",
      ),
    ];
  }

  function api(
    method: string,
    path: string,
    record: Auth0Request,
    token: IssuedToken,
    bodyError: boolean,
  ): [number, unknown] {
    if (path === "/api/v2/connections" && method === "GET") {
      const denied = insufficientScope(token.scopes, "read:connections");
      if (denied) return denied;
      const { name, strategy } = record.query;
      const list = [...connections.values()].filter(
        (c) =>
          (name === undefined || c.name === name) &&
          (strategy === undefined || c.strategy === strategy),
      );
      return [200, list.map((c) => structuredClone(c))];
    }
    const one = /^\/api\/v2\/connections\/([^/]+)$/.exec(path);
    if (one) {
      const id = decodeURIComponent(one[1] ?? "");
      if (method === "GET") {
        const denied = insufficientScope(token.scopes, "read:connections");
        if (denied) return denied;
        const bad = invalidId(id, "ID of the connection to retrieve");
        if (bad) return bad;
        const c = connections.get(id);
        if (!c)
          return [404, auth0Error(404, "The connection does not exist", "inexistent_connection")];
        return [200, structuredClone(c)];
      }
      if (method === "PATCH") {
        const denied = insufficientScope(token.scopes, "update:connections");
        if (denied) return denied;
        const bad = invalidId(id, "The id of the connection to update");
        if (bad) return bad;
        return patchConnection(id, record.body, token, bodyError);
      }
      return [404, auth0Error(404, "Not Found")];
    }
    if (path === "/api/v2/tenants/settings" && method === "GET") {
      const denied = insufficientScope(token.scopes, "read:tenant_settings");
      if (denied) return denied;
      return [
        200,
        {
          friendly_name: "Emulated Tenant",
          picture_url: "",
          support_email: "",
          support_url: "",
          enabled_locales: ["en"],
          sandbox_version: "22",
          flags: {
            enable_dynamic_client_registration: dcr,
            enable_client_connections: true,
            allow_legacy_delegation_grant_types: false,
            revoke_refresh_token_grant: false,
            disable_clickjack_protection_headers: false,
          },
        },
      ];
    }
    return [404, auth0Error(404, "Not Found")];
  }

  function patchConnection(
    id: string,
    body: unknown,
    token: IssuedToken,
    bodyError: boolean,
  ): [number, unknown] {
    if (bodyError) return [400, auth0Error(400, "Invalid request payload JSON format")];
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      return [
        400,
        auth0Error(
          400,
          "Payload validation error: 'Expected type object but found type null'.",
          "invalid_body",
        ),
      ];
    }
    const fields = body as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((k) => !PATCHABLE.has(k));
    if (unknown.length > 0) {
      return [
        400,
        auth0Error(
          400,
          `Payload validation error: 'Additional properties not allowed: ${unknown.join(",")}'.`,
          "invalid_body",
        ),
      ];
    }
    if (Object.keys(fields).length === 0) {
      return [
        400,
        auth0Error(
          400,
          "Payload validation error: 'Too few properties defined (0), minimum 1'.",
          "invalid_body",
        ),
      ];
    }
    const typeError = (prop: string, expected: string, value: unknown): [number, unknown] => [
      400,
      auth0Error(
        400,
        `Payload validation error: 'Expected type ${expected} but found type ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value}' on property ${prop}.`,
        "invalid_body",
      ),
    ];
    if ("is_domain_connection" in fields && typeof fields.is_domain_connection !== "boolean") {
      return typeError("is_domain_connection", "boolean", fields.is_domain_connection);
    }
    if ("show_as_button" in fields && typeof fields.show_as_button !== "boolean") {
      return typeError("show_as_button", "boolean", fields.show_as_button);
    }
    if ("display_name" in fields) {
      if (typeof fields.display_name !== "string")
        return typeError("display_name", "string", fields.display_name);
      if (fields.display_name.length > 128) {
        return [
          400,
          auth0Error(
            400,
            "Payload validation error: 'String is too long (>128 chars)' on property display_name.",
            "invalid_body",
          ),
        ];
      }
    }
    if ("options" in fields && !token.scopes.includes("update:connections_options")) {
      return [
        403,
        auth0Error(
          403,
          "Insufficient scope, expected any of: update:connections_options",
          "insufficient_scope",
        ),
      ];
    }
    const current = connections.get(id);
    if (!current)
      return [404, auth0Error(404, "The connection does not exist", "inexistent_connection")];
    const updated: EmulatedConnection = {
      ...current,
      ...(structuredClone(fields) as Partial<EmulatedConnection>),
    };
    // Documented: "If display_name is not included in the request, the field will be
    // overwritten with the name value."
    if (!("display_name" in fields)) updated.display_name = current.name;
    connections.set(id, updated);
    return [200, structuredClone(updated)];
  }

  const emulator: Auth0Emulator = {
    url,
    audience,
    clientId,
    clientSecret,
    requests: [],
    tokensIssued: 0,
    apiRequests(method, pathPrefix) {
      return emulator.requests.filter(
        (r) =>
          r.path.startsWith("/api/v2/") &&
          (method === undefined || r.method === method.toUpperCase()) &&
          (pathPrefix === undefined || r.path.startsWith(pathPrefix)),
      );
    },
    addConnection(c) {
      connections.set(c.id, structuredClone(c));
    },
    connection(id) {
      const c = connections.get(id);
      return c ? structuredClone(c) : undefined;
    },
    setScopes(next) {
      scopes = [...next];
    },
    setDynamicClientRegistration(on) {
      dcr = on;
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
    revokeTokens() {
      for (const t of tokens.values()) t.revoked = true;
    },
    setRateLimit(rl) {
      bucket = makeBucket(rl);
    },
    injectFault(f) {
      faults.push({ ...f, remaining: f.times ?? 1 });
    },
    waitFor(predicate, opts = {}) {
      const deadline = performance.now() + (opts.timeoutMs ?? 5000);
      return new Promise((resolve, reject) => {
        const poll = () => {
          let value: ReturnType<typeof predicate>;
          try {
            value = predicate();
          } catch (err) {
            reject(err);
            return;
          }
          if (value !== undefined && value !== null && value !== false) {
            resolve(value);
            return;
          }
          if (performance.now() >= deadline) {
            reject(
              new Error(`auth0 emulator: timed out waiting for ${opts.what ?? "a condition"}`),
            );
            return;
          }
          setTimeout(poll, 10);
        };
        poll();
      });
    },
    reset() {
      emulator.requests.length = 0;
      emulator.tokensIssued = 0;
      tokens.clear();
      faults = [];
      scopes = [...(options.scopes ?? DEFAULT_SCOPES)];
      dcr = options.dynamicClientRegistration ?? true;
      clientGrant = true;
      grantTypes = ["client_credentials"];
      issuer = undefined;
      bucket = makeBucket(options.rateLimit);
      connections = new Map(initialConnections.map((c) => [c.id, structuredClone(c)]));
    },
    async close() {
      closing = true;
      for (const [timer, release] of delays) {
        clearTimeout(timer);
        release();
      }
      delays.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await closed;
    },
  };
  return emulator;
}
