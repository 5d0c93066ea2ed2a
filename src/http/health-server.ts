import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Metrics } from "../metrics.js";
import {
  declaredTooLarge,
  HTTP_LIMITS,
  type HttpLimits,
  readCappedBody,
  refuseTooLarge,
  serverOptions,
} from "./limits.js";
import { withTimeout } from "./readiness.js";

export interface HealthServerOptions {
  port: number;
  host?: string;
  /**
   * METRICS_PORT and METRICS_HOST: when set, /readyz and /metrics are served on this address only
   * (with /healthz), and `port` serves Slack's route and /healthz alone.
   */
  metricsListen?: { port: number; host: string };
  /** Each check resolves to true when its dependency answers; /readyz is 200 only if all do. */
  readinessChecks: Record<string, () => Promise<boolean>>;
  metrics: Pick<Metrics, "text" | "contentType">;
  /** Bolt's HTTP receiver, in HTTP mode: POST /slack/events goes to it. */
  slackListener?: RequestListener;
  /** Body size and timeouts; HTTP_LIMITS unless a test shortens them. */
  limits?: Partial<HttpLimits>;
}

export interface HttpServers {
  /** PORT's server. */
  main: Server;
  /** METRICS_PORT's server, when it is set. */
  metrics?: Server;
}

/** What a listener serves. /healthz is everywhere: it says nothing but "alive". */
interface Routes {
  operations: boolean;
  slack: boolean;
}

function send(res: ServerResponse, status: number, body: string, type = "application/json") {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

function handler(options: HealthServerOptions, limits: HttpLimits, routes: Routes) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (declaredTooLarge(req, limits.maxBodyBytes)) {
      refuseTooLarge(res);
      return;
    }
    if (req.method === "GET" && path === "/healthz") {
      send(res, 200, JSON.stringify({ status: "ok" }));
      return;
    }
    if (routes.operations && req.method === "GET" && path === "/readyz") {
      const names = Object.keys(options.readinessChecks);
      const results = await Promise.all(
        names.map((n) => withTimeout(options.readinessChecks[n] as () => Promise<boolean>, 2_000)),
      );
      const checks = Object.fromEntries(names.map((n, i) => [n, results[i] ? "ok" : "failing"]));
      const ready = results.every(Boolean);
      send(
        res,
        ready ? 200 : 503,
        JSON.stringify({ status: ready ? "ready" : "not ready", checks }),
      );
      return;
    }
    if (routes.operations && req.method === "GET" && path === "/metrics") {
      send(res, 200, await options.metrics.text(), options.metrics.contentType);
      return;
    }
    // Bolt's listener throws on requests it does not own, so only Slack's route goes to it.
    if (routes.slack && options.slackListener && path === "/slack/events") {
      if (req.method !== "POST") {
        res.writeHead(405, { allow: "POST", "content-type": "application/json" });
        res.end(JSON.stringify({ error: "POST only" }));
        return;
      }
      // Read here, under the cap, and handed to Bolt as the body it would otherwise read itself
      // (Bolt uses a request's rawBody when it is there).
      const body = await readCappedBody(req, res, limits.maxBodyBytes);
      if (!body) return;
      Object.assign(req, { rawBody: body });
      options.slackListener(req, res);
      return;
    }
    send(res, 404, JSON.stringify({ error: "not found" }));
  };
}

async function listen(
  options: HealthServerOptions,
  limits: HttpLimits,
  routes: Routes,
  address: { port: number; host: string },
): Promise<Server> {
  const handle = handler(options, limits, routes);
  const server = createServer(serverOptions(limits), (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: "internal error" }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.host, () => resolve());
  });
  return server;
}

/**
 * The process's HTTP: /healthz (alive), /readyz (dependencies answer), /metrics, and in HTTP mode
 * Slack's requests, on PORT; or, with METRICS_PORT, /readyz and /metrics on that address only.
 * Socket Mode and worker processes serve the same health routes.
 */
export async function startHttpServers(options: HealthServerOptions): Promise<HttpServers> {
  const limits: HttpLimits = { ...HTTP_LIMITS, ...options.limits };
  const separate = options.metricsListen;
  const main = await listen(
    options,
    limits,
    { operations: !separate, slack: true },
    { port: options.port, host: options.host ?? "0.0.0.0" },
  );
  if (!separate) return { main };
  try {
    const metrics = await listen(options, limits, { operations: true, slack: false }, separate);
    return { main, metrics };
  } catch (err) {
    await closeServer(main);
    throw err;
  }
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** host:port, as a log line shows where a server listens. */
export function serverAddress(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
