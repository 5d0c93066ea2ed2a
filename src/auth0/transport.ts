import { Agent, fetch as undiciFetch, request as undiciRequest } from "undici";

/**
 * The one HTTP client every Auth0 call goes through: a pooled undici 7 Agent whose connect,
 * headers and body timeouts all come from one number, so no call can hang.
 *
 * Node 20's global fetch bundles undici 6; a v7 dispatcher handed to it breaks. So `fetch`
 * here is undici 7's own, always with this Agent.
 */

export interface TransportResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json(): Promise<unknown>;
  text(): Promise<string>;
}

export interface TransportRequestInit {
  method: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface Transport {
  request(url: string, init: TransportRequestInit): Promise<TransportResponse>;
  /** A Fetch API function on the same Agent, for openid-client's `customFetch`. */
  fetch: (url: string, init?: RequestInit) => Promise<Response>;
  close(): Promise<void>;
  /** The timeout this transport was built with, for error messages. */
  readonly timeoutMs?: number;
}

export interface TransportOptions {
  /** Bounds connecting, waiting for the headers, each pause in the body, and the whole call. */
  timeoutMs: number;
  /** Connections kept per origin (default 10). */
  connections?: number;
  /** Larger bodies are refused rather than buffered (default 1 MiB). */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export class ResponseTooLargeError extends Error {
  override readonly name = "ResponseTooLargeError";
}

export function createTransport(opts: TransportOptions): Transport {
  const { timeoutMs } = opts;
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const agent = new Agent({
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connections: opts.connections ?? 10,
  });

  async function request(url: string, init: TransportRequestInit): Promise<TransportResponse> {
    const res = await undiciRequest(url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      dispatcher: agent,
      // The Agent's timeouts bound each phase; this bounds the call as a whole.
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Read (or discard) the whole body before answering, so the connection goes back to the
    // pool whatever the caller does next.
    let text: string;
    const declared = Number(res.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      await res.body.dump();
      throw new ResponseTooLargeError(`response body of ${declared} bytes exceeds ${maxBodyBytes}`);
    }
    try {
      text = await readCapped(res.body, maxBodyBytes);
    } finally {
      if (!res.body.destroyed) await res.body.dump().catch(() => undefined);
    }
    return {
      status: res.statusCode,
      headers: res.headers,
      text: async () => text,
      json: async () => JSON.parse(text) as unknown,
    };
  }

  const fetchOnAgent = (url: string, init?: RequestInit): Promise<Response> =>
    // undici's own RequestInit/Response are the same Fetch API shapes as the global types,
    // declared separately; the casts only bridge the two declarations.
    undiciFetch(url, {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher: agent,
    }) as unknown as Promise<Response>;

  return {
    request,
    fetch: fetchOnAgent,
    close: () => agent.close(),
    timeoutMs,
  };
}

async function readCapped(body: AsyncIterable<Buffer>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxBytes) {
      throw new ResponseTooLargeError(`response body exceeds ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
