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
  /** Each check resolves to true when its dependency answers; /readyz is 200 only if all do. */
  readinessChecks: Record<string, () => Promise<boolean>>;
  metrics: Pick<Metrics, "text" | "contentType">;
  /** Bolt's HTTP receiver, in HTTP mode: every other path (POST /slack/events) goes to it. */
  slackListener?: RequestListener;
  /** Body size and timeouts; HTTP_LIMITS unless a test shortens them. */
  limits?: Partial<HttpLimits>;
}

function send(res: ServerResponse, status: number, body: string, type = "application/json") {
  res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
  res.end(body);
}

/**
 * One HTTP server per process: /healthz (alive), /readyz (dependencies answer), /metrics, and in
 * HTTP mode Slack's requests. Socket Mode and worker processes serve the same health routes.
 */
export async function startHealthServer(options: HealthServerOptions): Promise<Server> {
  const limits: HttpLimits = { ...HTTP_LIMITS, ...options.limits };
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    if (declaredTooLarge(req, limits.maxBodyBytes)) {
      refuseTooLarge(res);
      return;
    }
    if (req.method === "GET" && path === "/healthz") {
      send(res, 200, JSON.stringify({ status: "ok" }));
      return;
    }
    if (req.method === "GET" && path === "/readyz") {
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
    if (req.method === "GET" && path === "/metrics") {
      send(res, 200, await options.metrics.text(), options.metrics.contentType);
      return;
    }
    // Bolt's listener throws on requests it does not own, so only Slack's route goes to it.
    if (options.slackListener && path === "/slack/events") {
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
  const server = createServer(serverOptions(limits), (req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: "internal error" }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  return server;
}

export function serverPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
