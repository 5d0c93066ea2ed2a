/** Readers of single settings, for the schema in config.ts: each says what is wrong in words. */
import { accessSync, constants } from "node:fs";
import { isIP } from "node:net";
import { z } from "zod";
import type { HostPort } from "./redis.js";

/** Hosts for which plain http:// is allowed: local emulators and tests only. */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}

/** Parses a base URL and refuses http:// anywhere but loopback. Returns the URL or a problem. */
export function secureBaseUrl(raw: string): URL | string {
  let url: URL;
  try {
    // A bare host such as acme.us.auth0.com means https.
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
  } catch {
    return "is not a URL";
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:") {
    return isLoopbackHost(url.hostname)
      ? url
      : "must use https:// (http:// is accepted only for 127.0.0.1, localhost or [::1])";
  }
  return "must be an https:// URL";
}

export const slackUserId = /^[UW][A-Z0-9]{2,}$/;
export const slackChannelId = /^[CGD][A-Z0-9]{2,}$/;

export const idList = (pattern: RegExp, what: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const ids = (v ?? "")
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean);
      for (const id of ids) {
        if (!pattern.test(id)) {
          ctx.addIssue({ code: "custom", message: `"${id}" is not a ${what}` });
        }
      }
      return ids;
    });

/** A duration such as `24h`, `30m`, `45s` or `1h30m`, in milliseconds. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (!/^(\d+[dhms])+$/.test(t)) return undefined;
  const unit: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };
  let ms = 0;
  for (const [, n, u] of t.matchAll(/(\d+)([dhms])/g)) ms += Number(n) * (unit[u as string] ?? 0);
  return ms > 0 ? ms : undefined;
}

/** How many commands and clicks one person may send per window. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** A rate such as `20/1m` (20 a minute) or `5/10s`. */
export function parseRate(text: string): RateLimit | undefined {
  const match = /^(\d+)\s*\/\s*(\S+)$/.exec(text.trim());
  const limit = Number(match?.[1]);
  const windowMs = match?.[2] ? parseDuration(match[2]) : undefined;
  if (!Number.isSafeInteger(limit) || limit < 1 || windowMs === undefined) return undefined;
  return { limit, windowMs };
}

/** A setting with a default, read by `parse`; what it cannot read is reported as not `expected`. */
const readWith = <T>(fallback: string, parse: (text: string) => T | undefined, expected: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .transform((v, ctx) => {
      const value = parse(v);
      if (value === undefined) {
        ctx.addIssue({ code: "custom", message: `must be ${expected}, not "${v}"` });
        return z.NEVER;
      }
      return value;
    });

export const duration = (fallback: string) =>
  readWith(fallback, parseDuration, "a duration such as 24h, 30m or 45s");

/** Milliseconds as parseDuration reads them back: `1h30m`, `45s`, `0`. */
export function formatDuration(ms: number): string {
  let left = Math.round(ms / 1000);
  let out = "";
  for (const [unit, seconds] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
    ["s", 1],
  ] as const) {
    if (left >= seconds) {
      out += `${Math.floor(left / seconds)}${unit}`;
      left %= seconds;
    }
  }
  return out || "0";
}

/** A duration, or `0` (or `off`) for none: 0 ms. */
export function parseDurationOrOff(text: string): number | undefined {
  return /^(0+|off)$/i.test(text.trim()) ? 0 : parseDuration(text);
}

/** A duration or 0 (none); unset or empty: undefined, for the caller's default. */
export const optionalDurationOrOff = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === "") return undefined;
    const ms = parseDurationOrOff(v);
    if (ms === undefined) {
      ctx.addIssue({
        code: "custom",
        message: `must be a duration such as 12h, 30m or 45s, or 0 to turn it off, not "${v}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

export const rate = (fallback: string) =>
  readWith(fallback, parseRate, "a count per duration such as 20/1m or 5/10s");

export const TRUE = /^(true|1|yes|on)$/i;
const FALSE = /^(false|0|no|off)$/i;

export const boolean = <T extends boolean | undefined>(fallback: T) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return fallback;
      if (TRUE.test(v)) return true;
      if (FALSE.test(v)) return false;
      ctx.addIssue({ code: "custom", message: `must be true or false, not "${v}"` });
      return z.NEVER;
    });

export const usergroupId = z
  .string()
  .trim()
  .optional()
  .transform((v) => v || undefined)
  .refine((v) => v === undefined || /^S[A-Z0-9]{2,}$/.test(v), {
    message: "must be a user group id such as S0123ABCD",
  });

export const baseUrl = (fallback: string | undefined) =>
  optionalBaseUrl(fallback).transform((v, ctx) => {
    if (v === undefined) {
      ctx.addIssue({ code: "custom", message: "is required" });
      return z.NEVER;
    }
    return v;
  });

/** A base URL when given (https://, or http:// on loopback); undefined when left out. */
export const optionalBaseUrl = (fallback: string | undefined) =>
  z
    .string()
    .optional()
    .transform((v, ctx): URL | undefined => {
      const raw = v?.trim() || fallback;
      if (!raw) return undefined;
      const url = secureBaseUrl(raw);
      if (typeof url === "string") {
        ctx.addIssue({ code: "custom", message: url });
        return z.NEVER;
      }
      return url;
    });

export const required = (what: string) =>
  z
    .string({ error: `is required (${what})` })
    .trim()
    .min(1, `is required (${what})`);

export const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .positive("must be positive")
    .default(fallback);

export const portNumber = z.coerce
  .number({ error: "must be a port number" })
  .int("must be a port number")
  .min(0, "must be a port number")
  .max(65535, "must be a port number");

/** Unset or empty: undefined. */
export const optionalPort = z.preprocess(
  (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
  portNumber.optional(),
);

/** An IP literal (0.0.0.0, ::) or a host name (localhost), as node's listen() takes it. */
export const listenAddress = z
  .string()
  .trim()
  .optional()
  .transform((v) => v || undefined)
  .refine(
    (v) =>
      v === undefined ||
      isIP(v) !== 0 ||
      /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(v),
    "must be an address to listen on, such as 127.0.0.1, 0.0.0.0 or ::",
  );

/** Unset or empty: undefined. */
export const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => v || undefined);

/** A file this process can read (a PEM file), named by its path. */
export const readableFile = optionalText.superRefine((path, ctx) => {
  if (path === undefined) return;
  try {
    accessSync(path, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "unreadable";
    ctx.addIssue({ code: "custom", message: `cannot be read (${code}): ${path}` });
  }
});

/** `host:port`, `[ipv6]:port`, or a bare host that takes `defaultPort`. */
function parseHostPort(text: string, defaultPort: number): HostPort | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^\s:[\]]+))(?::(\d{1,5}))?$/i.exec(text);
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (!host || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** A comma-separated list of Redis nodes (Sentinels, Cluster nodes); unset or empty: none. */
export const hostPortList = (defaultPort: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const nodes: HostPort[] = [];
      for (const item of (v ?? "").split(/[\s,]+/).filter(Boolean)) {
        const node = parseHostPort(item, defaultPort);
        if (node) nodes.push(node);
        else {
          ctx.addIssue({
            code: "custom",
            message: `"${item}" is not host:port (such as 10.0.0.5:${defaultPort} or redis-1.internal:${defaultPort})`,
          });
        }
      }
      return nodes;
    });
