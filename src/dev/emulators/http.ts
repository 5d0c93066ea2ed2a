/**
 * What the Slack and Auth0 emulators share: reading a request body, answering JSON, listening on
 * loopback, and the queue of injected faults each of them answers from before doing the real work.
 */
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The whole body as UTF-8; rejects once it passes `maxBytes` (default: no limit). */
export async function readBody(
  req: IncomingMessage,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new Error("request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Answers `body` as JSON; `headers` come after (and may override) the content headers. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Listens on a free port of 127.0.0.1; resolves with `http://127.0.0.1:PORT`. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/**
 * Faults a test asked for, each to answer the next `times` requests it matches, oldest first.
 * What a fault looks like, and what a request must be to match it, is each emulator's own.
 */
export class FaultQueue<F> {
  private pending: Array<{ fault: F; remaining: number }> = [];

  /** Queues `fault` for `times` matching requests (none when times ≤ 0). */
  add(fault: F, times = 1): void {
    if (times > 0) this.pending.push({ fault, remaining: times });
  }

  /** The oldest fault that `matches`, counted as used once; undefined when none does. */
  take(matches: (fault: F) => boolean): F | undefined {
    const entry = this.pending.find((p) => matches(p.fault));
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining === 0) this.pending = this.pending.filter((p) => p !== entry);
    return entry.fault;
  }

  clear(): void {
    this.pending = [];
  }
}
