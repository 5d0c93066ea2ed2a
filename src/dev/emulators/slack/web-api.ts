/**
 * The Web API on the wire, as `@slack/web-api` speaks it: `POST /api/<method>` with a form body
 * (values that are not string/number/boolean JSON-encoded, e.g. `blocks`) or a JSON one, or `GET
 * /api/<method>?...`; the token in `Authorization: Bearer …` or a `token` field. Answers are JSON
 * with HTTP 200 (`{ok:true,...}` / `{ok:false,error}`), except injected faults (429 +
 * `Retry-After`, or any HTTP status). Every call is recorded before it is answered.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FaultQueue, readBody, sendJson } from "../http.js";
import type { SlackCall, SlackFault } from "./types.js";
import { ApiError, type WebApiMethod } from "./workspace.js";

/** Arguments that `@slack/web-api` JSON-encodes in form bodies and Slack decodes. */
const JSON_FORM_FIELDS = new Set([
  "blocks",
  "attachments",
  "view",
  "metadata",
  "user_auth_blocks",
  "unfurls",
  "chunks",
]);

/** Methods called with the app-level token (xapp-...), not the bot token. */
const APP_TOKEN_METHODS = new Set(["apps.connections.open"]);

/** A fault injected with `failNext`, for a method or for "response_url". */
export interface PendingSlackFault {
  method: string;
  fault: SlackFault;
}

function decodeForm(params: URLSearchParams): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const [key, value] of params) {
    if (JSON_FORM_FIELDS.has(key)) {
      try {
        args[key] = JSON.parse(value);
        continue;
      } catch {
        // Slack would answer invalid_blocks & co.; keep the raw string so the test can see it.
      }
    }
    args[key] = value;
  }
  return args;
}

/** Writes the fault's answer; the caller has already recorded the call. */
export function answerFault(res: ServerResponse, fault: SlackFault): void {
  if ("ratelimited" in fault) {
    sendJson(
      res,
      429,
      { ok: false, error: "ratelimited" },
      { "retry-after": String(fault.ratelimited.retryAfterSec) },
    );
  } else if ("status" in fault) {
    const text = `emulated HTTP ${fault.status}`;
    res.writeHead(fault.status, { "content-type": "text/plain", "content-length": text.length });
    res.end(text);
  } else {
    sendJson(res, 200, { ok: false, error: fault.error });
  }
}

/** The arguments of a call, from the query, the form or JSON body; `badJson` if it did not parse. */
async function readArgs(
  req: IncomingMessage,
  url: URL,
): Promise<{ args: Record<string, unknown>; formToken?: string; badJson: boolean }> {
  const raw = req.method === "POST" ? await readBody(req) : "";
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  let args: Record<string, unknown> = decodeForm(url.searchParams);
  let badJson = false;
  if (contentType === "application/json") {
    try {
      const parsed: unknown = raw === "" ? {} : JSON.parse(raw);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        args = { ...args, ...(parsed as Record<string, unknown>) };
      } else badJson = true;
    } catch {
      badJson = true;
    }
  } else if (raw !== "") {
    args = { ...args, ...decodeForm(new URLSearchParams(raw)) };
  }
  if (typeof args.token !== "string") return { args, badJson };
  const { token: formToken, ...rest } = args;
  return { args: rest, formToken, badJson };
}

export interface WebApiOptions {
  botToken: string;
  appToken: string;
  methods: Record<string, WebApiMethod>;
  /** Where every call is recorded, in arrival order. */
  calls: SlackCall[];
  faults: FaultQueue<PendingSlackFault>;
  /** Resolves when a call of `method` may be answered; undefined when it is not held. */
  hold?: (method: string) => Promise<void> | undefined;
}

/** Answers one `/api/<method>` request. */
export function webApiHandler(
  options: WebApiOptions,
): (req: IncomingMessage, res: ServerResponse, method: string, url: URL) => Promise<void> {
  const { botToken, appToken, methods, calls, faults } = options;
  return async (req, res, method, url) => {
    const { args, formToken, badJson } = await readArgs(req, url);
    const auth = req.headers.authorization;
    const headerToken = auth?.startsWith("Bearer ")
      ? auth.slice("Bearer ".length).trim()
      : undefined;
    const token = headerToken || formToken;
    const call: SlackCall = { method, args, token, at: Date.now() };
    calls.push(call);
    await options.hold?.(method);
    if (res.destroyed) return;

    const fault = faults.take((f) => f.method === method)?.fault;
    if (fault) {
      call.injected = true;
      answerFault(res, fault);
      return;
    }
    if (badJson) return sendJson(res, 200, { ok: false, error: "invalid_json" });
    const handler = methods[method];
    if (!handler) return sendJson(res, 200, { ok: false, error: "unknown_method" });
    if (!token) return sendJson(res, 200, { ok: false, error: "not_authed" });
    const expected = APP_TOKEN_METHODS.has(method) ? appToken : botToken;
    if (token !== expected) {
      // A real token of the other kind (bot token for apps.connections.open, app token for the
      // rest) is the wrong type; anything else is not a token at all.
      const otherKind = token === botToken || token === appToken;
      return sendJson(res, 200, {
        ok: false,
        error: otherKind ? "not_allowed_token_type" : "invalid_auth",
      });
    }
    try {
      sendJson(res, 200, { ok: true, ...handler(args) });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      sendJson(res, 200, {
        ok: false,
        error: err.code,
        ...(err.detail ? { response_metadata: { messages: [`[ERROR] ${err.detail}`] } } : {}),
      });
    }
  };
}
