/** Reading Auth0's answers: its rate-limit headers, when to try again, and its error bodies. */
import type { RateLimitInfo } from "./management.js";
import type { TransportResponse } from "./transport.js";

/** Used when a 429 carries no usable reset time. */
const DEFAULT_RETRY_AFTER_MS = 1000;
const MAX_RETRY_AFTER_MS = 60_000;

function header(res: TransportResponse, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function headerNumber(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): number | undefined {
  const raw = headers[name];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value.trim() === "") return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** x-ratelimit-limit / -remaining / -reset, or undefined when the answer has none. */
export function parseRateLimit(
  headers: Record<string, string | string[] | undefined>,
): RateLimitInfo | undefined {
  const info: RateLimitInfo = {
    limit: headerNumber(headers, "x-ratelimit-limit"),
    remaining: headerNumber(headers, "x-ratelimit-remaining"),
    resetSec: headerNumber(headers, "x-ratelimit-reset"),
  };
  return info.limit === undefined && info.remaining === undefined && info.resetSec === undefined
    ? undefined
    : info;
}

export function retryAfter(
  res: TransportResponse,
  rateLimit: RateLimitInfo | undefined,
  now: number,
) {
  let ms: number | undefined;
  if (rateLimit?.resetSec !== undefined) ms = rateLimit.resetSec * 1000 - now;
  else {
    const seconds = Number(header(res, "retry-after"));
    if (Number.isFinite(seconds)) ms = seconds * 1000;
  }
  if (ms === undefined || !(ms > 0)) return DEFAULT_RETRY_AFTER_MS;
  return Math.min(Math.ceil(ms), MAX_RETRY_AFTER_MS);
}

/** Auth0's error body: {statusCode, error, message, errorCode}. */
export async function parseAuth0Error(
  res: TransportResponse,
): Promise<{ errorCode?: string; auth0Message?: string; auth0Error?: string }> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return {};
  }
  if (typeof body !== "object" || body === null) return {};
  const { errorCode, message, error } = body as Record<string, unknown>;
  return {
    errorCode: typeof errorCode === "string" ? errorCode : undefined,
    auth0Message: typeof message === "string" ? message.slice(0, 500) : undefined,
    auth0Error: typeof error === "string" ? error : undefined,
  };
}
