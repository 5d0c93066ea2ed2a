/**
 * One loopback Auth0 tenant, on its own port, that speaks the documented wire formats: OIDC
 * discovery and the client-credentials token endpoint with a secret or a client assertion
 * (oauth.ts, client-assertion.ts), the Management API v2 connections, tenant-settings and
 * applications endpoints (management-api.ts), Auth0's error bodies, its token-bucket rate limit
 * with the x-ratelimit-* headers (rate-bucket.ts), and injectable faults. Every request is
 * recorded so tests can assert what Auth0 received. index.ts puts several together.
 */
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
  STATUS_CODES,
} from "node:http";
import type { Socket } from "node:net";
import { pollUntil } from "../../harness/poll.js";
import { FaultQueue, listenOnLoopback, readBody, sendJson } from "../http.js";
import { clientAssertions } from "./client-assertion.js";
import { auth0Error } from "./errors.js";
import { managementApi } from "./management-api.js";
import { oauthServer } from "./oauth.js";
import { RateBucket } from "./rate-bucket.js";
import type { Auth0FaultSpec, Auth0Request, Auth0Tenant, Auth0TenantOptions } from "./types.js";

const DEFAULT_SCOPES = [
  "read:connections",
  "update:connections",
  "read:tenant_settings",
  "update:tenant_settings",
  "read:clients",
];
const MAX_BODY_BYTES = 1024 * 1024;

function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

function send(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders) {
  sendJson(res, status, body, { "cache-control": "no-cache", ...headers });
}

function faultMatches(fault: Auth0FaultSpec, method: string, path: string): boolean {
  return (
    (fault.method === undefined || fault.method.toUpperCase() === method) &&
    (fault.path === undefined ||
      (typeof fault.path === "string" ? path.startsWith(fault.path) : fault.path.test(path)))
  );
}

/** The request as recorded, its body parsed; `bodyError` when a JSON body did not parse. */
async function recordOf(
  req: IncomingMessage,
  base: string,
): Promise<{ record: Auth0Request; bodyError: boolean }> {
  const at = nowEpochMs();
  const parsed = new URL(req.url ?? "/", base);
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    headers[k] = Array.isArray(v) ? v.join(", ") : v;
  }
  const raw = await readBody(req, MAX_BODY_BYTES);
  const record: Auth0Request = {
    method: (req.method ?? "GET").toUpperCase(),
    path: parsed.pathname,
    query: Object.fromEntries(parsed.searchParams),
    headers,
    body: undefined,
    status: 0,
    at,
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
  return { record, bodyError };
}

/** `defaults`: the client id and secret when `options` names none. */
export async function startTenant(
  name: string,
  options: Auth0TenantOptions,
  defaults: { clientId: string; clientSecret: string },
): Promise<Auth0Tenant> {
  const clientId = options.clientId ?? defaults.clientId;
  const clientSecret = options.clientSecret ?? defaults.clientSecret;
  /** How far the tenant's clock is ahead of this host's (behind, when negative). */
  let clockOffsetMs = 0;
  const assertions = clientAssertions(
    clientId,
    options.privateKeyJwt,
    () => Date.now() + clockOffsetMs,
  );

  let scopes = [...(options.scopes ?? DEFAULT_SCOPES)];
  let bucket = RateBucket.of(options.rateLimit);
  const api = managementApi({
    connections: options.connections ?? [],
    clients: options.clients ?? [],
    dynamicClientRegistration: options.dynamicClientRegistration ?? true,
  });
  const faults = new FaultQueue<Auth0FaultSpec>();
  let closing = false;
  const sockets = new Set<Socket>();
  /** Pending delay faults, released (unanswered) by close(). */
  const delays = new Map<NodeJS.Timeout, () => void>();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, auth0Error(500, String(err)), {});
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  const url = await listenOnLoopback(server);
  const audience = `${url}/api/v2/`;
  const oauth = oauthServer({
    url,
    audience,
    clientId,
    clientSecret,
    assertions,
    tokenExpiresIn: options.tokenExpiresIn ?? 86_400,
  });

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
    const { record, bodyError } = await recordOf(req, url);
    const { method, path } = record;
    emulator.requests.push(record);
    const answer = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      record.status = status;
      if (res.destroyed || res.headersSent) return;
      record.responseHeaders = extra;
      send(res, status, body, extra);
    };

    const isApi = path.startsWith("/api/v2/");
    const fault = faults.take((f) => faultMatches(f, method, path));
    if (fault) {
      if (fault.kind === "reset") {
        req.socket.destroy();
        return;
      }
      // `delay` answers as usual, late; a `status` with delayMs is a slow failure.
      if (fault.kind === "delay" || (fault.kind === "status" && fault.delayMs !== undefined)) {
        await delay(fault.delayMs ?? 1000);
        if (closing || res.destroyed) return;
      }
      if (fault.kind === "html") {
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
      } else if (fault.kind === "status") {
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
      answer(200, oauth.discovery());
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
      answer(...oauth.token(record, bodyError, scopes));
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
    const auth = oauth.authenticate(record.headers.authorization);
    if (auth.bearer) record.token = auth.bearer;
    if ("refused" in auth) {
      answer(...auth.refused, rateHeaders);
      return;
    }
    answer(...api.handle(record, auth.token, bodyError), rateHeaders);
  }

  const emulator: Auth0Tenant = {
    name,
    url,
    audience,
    clientId,
    clientSecret,
    get clientKeys() {
      return assertions.keys;
    },
    registerClientKey: assertions.register,
    removeClientKeys: assertions.removeAll,
    setClockOffset(seconds) {
      clockOffsetMs = seconds * 1000;
    },
    requests: [],
    get tokensIssued() {
      return oauth.issued;
    },
    apiRequests(method, pathPrefix) {
      return emulator.requests.filter(
        (r) =>
          r.path.startsWith("/api/v2/") &&
          (method === undefined || r.method === method.toUpperCase()) &&
          (pathPrefix === undefined || r.path.startsWith(pathPrefix)),
      );
    },
    addConnection: api.addConnection,
    connection: api.connection,
    addClient: api.addClient,
    setScopes(next) {
      scopes = [...next];
    },
    setDynamicClientRegistration: api.setDynamicClientRegistration,
    setClientGrant: oauth.setClientGrant,
    setGrantTypes: oauth.setGrantTypes,
    setIssuer: oauth.setIssuer,
    revokeTokens: oauth.revokeAll,
    setRateLimit(rl) {
      bucket = RateBucket.of(rl);
    },
    injectFault(f) {
      faults.add(f, f.times ?? 1);
    },
    waitFor: (predicate, opts = {}) =>
      pollUntil(predicate, {
        timeoutMs: opts.timeoutMs,
        timedOut: () =>
          new Error(
            `auth0 emulator (${name}): timed out waiting for ${opts.what ?? "a condition"}`,
          ),
      }),
    reset() {
      emulator.requests.length = 0;
      oauth.reset();
      assertions.reset();
      clockOffsetMs = 0;
      faults.clear();
      scopes = [...(options.scopes ?? DEFAULT_SCOPES)];
      bucket = RateBucket.of(options.rateLimit);
      api.reset();
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
