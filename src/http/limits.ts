/**
 * What the HTTP server accepts from a client: how big a body, how slow a request. Slack's
 * requests are a few KB and must be answered within 3 s, so anything far larger or slower is not
 * Slack, and only costs memory or sockets.
 */
import type { IncomingMessage, ServerOptions, ServerResponse } from "node:http";

export interface HttpLimits {
  /** The largest request body read; a larger one gets 413 and the connection is closed. */
  maxBodyBytes: number;
  /** The request line and headers must arrive within this, or 408 and the connection closes. */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this, or 408 likewise. */
  requestTimeoutMs: number;
  /** A kept-alive connection that sends no new request within this is closed. */
  keepAliveTimeoutMs: number;
}

export const HTTP_LIMITS: HttpLimits = {
  maxBodyBytes: 1024 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
};

/** node:http's options that enforce the timeouts. */
export function serverOptions(limits: HttpLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two timeouts on a timer, every 30 s by default: a request could then live
    // 30 s past its deadline.
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(limits.headersTimeoutMs / 4)),
  };
}

/** 413, and the connection closes: whatever else the client sends is not read. */
export function refuseTooLarge(res: ServerResponse): void {
  if (res.headersSent) return;
  res.writeHead(413, { "content-type": "application/json", connection: "close" });
  res.end(JSON.stringify({ error: "request body too large" }));
}

/** Whether the request says, in Content-Length, that its body is over the limit. */
export function declaredTooLarge(req: IncomingMessage, maxBytes: number): boolean {
  return Number(req.headers["content-length"] ?? 0) > maxBytes;
}

/**
 * Reads the request body, counting bytes as they come: past `maxBytes` it stops reading and
 * answers 413 (a chunked body declares no length). Resolves with the body, or undefined when it
 * was refused or the client went away.
 */
export function readCappedBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (body: Buffer | undefined) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.pause();
        refuseTooLarge(res);
        finish(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks, size));
    // Closed before the end: the client left, or the server timed the request out.
    const onClose = () => finish(undefined);
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("close", onClose);
    // A reset while reading would otherwise be an unhandled 'error'.
    req.on("error", () => {});
  });
}
