/**
 * A loopback emulator of the Slack Web API (and of response_url sinks), for the tests and for
 * `npm run demo`. Only those import it: the bot itself never does.
 *
 * Wire format, as `@slack/web-api` speaks it:
 * - `POST /api/<method>` with `application/x-www-form-urlencoded` (the WebClient default: values
 *   that are not string/number/boolean are JSON-encoded strings, e.g. `blocks`) or
 *   `application/json`; `GET /api/<method>?...` is accepted too.
 * - token in `Authorization: Bearer xoxb-...`, or a `token` form/query field.
 * - answers are JSON with HTTP 200 (`{ok:true,...}` / `{ok:false,error}`), except injected faults
 *   (429 + `Retry-After`, or any HTTP status).
 *
 * `POST /response/<id>` is a response_url sink: Bolt's `respond()` posts JSON there.
 *
 * Socket Mode, as `@slack/socket-mode` speaks it:
 * - `apps.connections.open` with the app-level token (`Authorization: Bearer xapp-...`) answers
 *   `{ok:true, url:"ws://127.0.0.1:PORT/socket-mode/<ticket>"}`; a ticket opens one connection.
 *   The bot token there is `not_allowed_token_type`, as the app token is for every other method.
 * - on connect the server sends `{"type":"hello",...}`; envelopes are
 *   `{envelope_id, type: "slash_commands"|"interactive"|"events_api", payload,
 *   accepts_response_payload}` and the app acks each with `{envelope_id, payload?}` on the socket.
 *   Pings are answered with pongs (the client gives up after a few unanswered ones);
 *   `{"type":"disconnect","reason":...}` asks the app to reconnect.
 * The WebSocket server is the `ws` package, a dev dependency: it is loaded on the first
 * connection, so `npm run demo` (HTTP mode) runs where only production dependencies are installed.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  token: string | undefined;
  at: number;
  /** Set when the call was answered by a fault injected with `failNext`. */
  injected?: boolean;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
  /** bot user id */
  user: string;
  /** how many chat.update calls hit it */
  updates: number;
}

export interface SlackEmulatorOptions {
  /** default "xoxb-test-token"; the only token accepted */
  botToken?: string;
  /** default "UBOT00001" */
  botUserId?: string;
  /** default "BBOT00001" */
  botId?: string;
  /** default "T0TEST001" */
  teamId?: string;
  /** usergroup id -> member user ids */
  usergroups?: Record<string, string[]>;
  /** default "xapp-1-A0TEST001-1-emulated"; the only token `apps.connections.open` accepts */
  appToken?: string;
}

export type SocketEnvelopeType = "slash_commands" | "interactive" | "events_api";

/** What the app sent back on the socket for an envelope. */
export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface SocketEnvelopeRecord {
  envelope_id: string;
  type: SocketEnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  /** the connection it was sent on */
  connectionId: string;
  sentAt: number;
  ack?: SocketAck;
  ackedAt?: number;
}

export interface SocketConnectionRecord {
  /** the ticket in the URL `apps.connections.open` returned */
  id: string;
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
}

export interface SendEnvelopeOptions {
  /**
   * Default as Slack sends it: true for slash commands and for view submissions, false for block
   * actions and Events API events.
   */
  acceptsResponsePayload?: boolean;
  /** How long to wait for the ack; default 3000 ms, Slack's own deadline. */
  timeoutMs?: number;
  /** events_api only: `retry_attempt` and `retry_reason` (default 0 and "") */
  retryAttempt?: number;
  retryReason?: string;
}

export type SlackFault = { times?: number } & (
  | { ratelimited: { retryAfterSec: number } }
  | { status: number }
  | { error: string }
);

export interface SlackResponseRecord {
  id: string;
  url: string;
  body: Record<string, unknown>;
  at: number;
}

export interface SlackEmulator {
  /** http://127.0.0.1:PORT */
  url: string;
  /** http://127.0.0.1:PORT/api/ (trailing slash; what SLACK_API_URL gets) */
  apiUrl: string;
  botToken: string;
  botUserId: string;
  botId: string;
  teamId: string;
  /** every Web API call in arrival order (including failed/injected ones) */
  calls: SlackCall[];
  callsTo(method: string): SlackCall[];
  /** a fresh unique http://127.0.0.1:PORT/response/<id> sink URL */
  responseUrl(): string;
  /** bodies POSTed (JSON) to response URLs, in arrival order */
  responses: SlackResponseRecord[];
  responsesTo(url: string): Array<Record<string, unknown>>;
  /**
   * Current state of a channel (after chat.update edits), in post order. A user id (U.../W...)
   * used as a channel is a DM: `messages("U123")` and `messages(<its D id>)` are the same list.
   */
  messages(channel: string): SlackMessage[];
  /** The DM channel id (D...) the emulator uses for a user id. */
  dmChannelId(userId: string): string;
  setUsergroup(id: string, members: string[]): void;
  /**
   * Whether the bot is a member of a channel, as `conversations.info` reports it in
   * `channel.is_member` (default: a member of every channel). Kept across `reset()`.
   */
  setChannelMembership(channelId: string, isMember: boolean): void;
  /**
   * Make the next `times` (default 1) calls of `method` fail: with HTTP 429 + `Retry-After` and
   * body {ok:false,error:"ratelimited"}; or HTTP `status`; or HTTP 200 with {ok:false,error}.
   * `method` "response_url" applies to POSTs to the response URL sinks instead.
   */
  failNext(method: string, fault: SlackFault): void;
  /**
   * Poll (every ~10 ms) until predicate returns a truthy value, or throw after timeoutMs
   * (default 5000) with a message listing the calls seen so far.
   */
  waitFor<T>(
    predicate: () => T | undefined | null | false,
    opts?: { timeoutMs?: number; what?: string },
  ): Promise<T>;
  /** clear calls, responses, messages, views, faults, envelopes (usergroups are kept) */
  reset(): void;
  /** Closes every socket (without a close handshake) and the server. */
  close(): Promise<void>;

  /** The app-level token (xapp-...) `apps.connections.open` accepts: what SLACK_APP_TOKEN gets. */
  appToken: string;
  /** Whether a Socket Mode connection is open (the hello has been sent on it). */
  socketConnected(): boolean;
  /** Every Socket Mode connection, in the order they opened. */
  socketConnections: SocketConnectionRecord[];
  /** Resolves with the newest open connection once one is open; throws after timeoutMs (5000). */
  waitForSocket(opts?: { timeoutMs?: number }): Promise<SocketConnectionRecord>;
  /**
   * Resolves once no connection is open (at least one having opened); throws after timeoutMs
   * (5000).
   */
  waitForSocketClosed(opts?: { timeoutMs?: number }): Promise<void>;
  /**
   * Sends an envelope on the newest open connection and resolves with the app's ack for it.
   * Rejects at once if no connection is open, or when no ack arrives within the deadline (3 s by
   * default, as Slack allows) or the connection closes first.
   */
  sendEnvelope(
    type: SocketEnvelopeType,
    payload: Record<string, unknown>,
    opts?: SendEnvelopeOptions,
  ): Promise<SocketAck>;
  /** Every envelope sent, with its ack once it came. */
  envelopes: SocketEnvelopeRecord[];
  /** Sends `{"type":"disconnect","reason":...}` on every open connection, as Slack does. */
  sendSocketDisconnect(reason?: "warning" | "refresh_requested" | "link_disabled"): void;
}

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

interface PendingFault {
  remaining: number;
  fault: SlackFault;
}

interface StoredView {
  id: string;
  view: Record<string, unknown>;
}

class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly detail?: string,
  ) {
    super(code);
  }
}

function isUserId(id: string): boolean {
  return /^[UW][A-Z0-9]+$/.test(id);
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
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

function str(args: Record<string, unknown>, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  const s = String(v);
  return s === "" ? undefined : s;
}

function short(value: unknown, max = 80): string {
  const s = typeof value === "string" ? value : JSON.stringify(value);
  if (s === undefined) return "undefined";
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Methods called with the app-level token (xapp-...), not the bot token. */
const APP_TOKEN_METHODS = new Set(["apps.connections.open"]);

const SOCKET_PATH = /^\/socket-mode\/([A-Za-z0-9_-]+)$/;

function describeCall(call: SlackCall): string {
  const parts = Object.entries(call.args)
    .filter(([k]) => k !== "token")
    .map(([k, v]) => `${k}=${short(v, k === "blocks" ? 60 : 80)}`);
  return `${call.method}${call.injected ? " [injected fault]" : ""}(${parts.join(", ")})`;
}

export async function startSlackEmulator(
  options: SlackEmulatorOptions = {},
): Promise<SlackEmulator> {
  const botToken = options.botToken ?? "xoxb-test-token";
  const botUserId = options.botUserId ?? "UBOT00001";
  const botId = options.botId ?? "BBOT00001";
  const teamId = options.teamId ?? "T0TEST001";
  const appId = "A0TEST001";
  const appToken = options.appToken ?? `xapp-1-${appId}-1-emulated`;
  const usergroups = new Map<string, string[]>(Object.entries(options.usergroups ?? {}));
  /** channel id -> is the bot a member; absent means it is. */
  const membership = new Map<string, boolean>();

  const calls: SlackCall[] = [];
  const responses: SlackResponseRecord[] = [];
  const channels = new Map<string, SlackMessage[]>();
  const views = new Map<string, StoredView>();
  const faults = new Map<string, PendingFault[]>();
  let tsCounter = 0;
  let viewCounter = 0;
  let baseUrl = "";

  // Socket Mode state.
  /** tickets handed out by apps.connections.open and not used yet */
  const tickets = new Set<string>();
  const socketConnections: SocketConnectionRecord[] = [];
  const openSockets = new Map<string, WebSocket>();
  const envelopes: SocketEnvelopeRecord[] = [];
  const pendingAcks = new Map<
    string,
    {
      record: SocketEnvelopeRecord;
      resolve: (ack: SocketAck) => void;
      reject: (err: Error) => void;
    }
  >();
  /** "change" whenever a connection opens or closes */
  const socketEvents = new EventEmitter();
  let wsServer: Promise<WebSocketServer> | undefined;

  const nextTs = (): string => {
    tsCounter += 1;
    return `${1_700_000_000 + tsCounter}.000100`;
  };

  const dmChannelId = (userId: string): string => `D${userId.slice(1)}`;
  const canonicalChannel = (channel: string): string =>
    isUserId(channel) ? dmChannelId(channel) : channel;
  const channelMessages = (channel: string): SlackMessage[] => {
    const key = canonicalChannel(channel);
    let list = channels.get(key);
    if (!list) {
      list = [];
      channels.set(key, list);
    }
    return list;
  };
  const findMessage = (channel: string, ts: string): SlackMessage | undefined =>
    channels.get(canonicalChannel(channel))?.find((m) => m.ts === ts);

  const takeFault = (key: string): SlackFault | undefined => {
    const queue = faults.get(key);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    return head.fault;
  };

  /** Writes the fault's answer; the caller has already recorded the call. */
  const answerFault = (res: ServerResponse, fault: SlackFault): void => {
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
  };

  const messageJson = (m: SlackMessage): Record<string, unknown> => ({
    user: m.user,
    type: "message",
    ts: m.ts,
    bot_id: botId,
    app_id: appId,
    text: m.text ?? "",
    team: teamId,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
  });

  const requireChannel = (args: Record<string, unknown>): string => {
    const channel = str(args, "channel");
    if (!channel) throw new ApiError("channel_not_found");
    return channel;
  };

  const requireContent = (args: Record<string, unknown>): void => {
    const blocks = args.blocks;
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    if (!str(args, "text") && !hasBlocks && args.attachments === undefined) {
      throw new ApiError("no_text");
    }
    if (blocks !== undefined && !Array.isArray(blocks)) throw new ApiError("invalid_blocks");
  };

  const requireArg = (args: Record<string, unknown>, key: string): string => {
    const v = str(args, key);
    if (!v) throw new ApiError("invalid_arguments", `missing required field: ${key}`);
    return v;
  };

  const storeView = (view: unknown, existingId?: string): Record<string, unknown> => {
    if (typeof view !== "object" || view === null || Array.isArray(view)) {
      throw new ApiError("invalid_arguments", "missing required field: view");
    }
    const id = existingId ?? `V${String(++viewCounter).padStart(8, "0")}`;
    const v = view as Record<string, unknown>;
    const stored: Record<string, unknown> = {
      id,
      team_id: teamId,
      type: v.type ?? "modal",
      blocks: v.blocks ?? [],
      private_metadata: v.private_metadata ?? "",
      callback_id: v.callback_id ?? "",
      state: { values: {} },
      hash: randomBytes(8).toString("hex"),
      title: v.title,
      clear_on_close: v.clear_on_close ?? false,
      notify_on_close: v.notify_on_close ?? false,
      close: v.close ?? null,
      submit: v.submit ?? null,
      previous_view_id: null,
      root_view_id: id,
      app_id: appId,
      external_id: v.external_id ?? "",
      app_installed_team_id: teamId,
      bot_id: botId,
    };
    views.set(id, { id, view: stored });
    return stored;
  };

  const handlers: Record<string, (args: Record<string, unknown>) => Record<string, unknown>> = {
    "apps.connections.open": () => {
      const ticket = randomBytes(12).toString("hex");
      tickets.add(ticket);
      return { url: `${baseUrl.replace(/^http:/, "ws:")}/socket-mode/${ticket}` };
    },

    "auth.test": () => ({
      url: "https://emulated.slack.test/",
      team: "Emulated Team",
      user: "promote-connection",
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),

    "chat.postMessage": (args) => {
      const channel = requireChannel(args);
      requireContent(args);
      const threadTs = str(args, "thread_ts");
      const msg: SlackMessage = {
        channel: canonicalChannel(channel),
        ts: nextTs(),
        user: botUserId,
        updates: 0,
        ...(str(args, "text") !== undefined ? { text: str(args, "text") } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
        ...(threadTs ? { thread_ts: threadTs } : {}),
      };
      channelMessages(channel).push(msg);
      return { channel: msg.channel, ts: msg.ts, message: messageJson(msg) };
    },

    "chat.update": (args) => {
      const channel = requireChannel(args);
      const ts = str(args, "ts");
      const msg = ts ? findMessage(channel, ts) : undefined;
      if (!msg) throw new ApiError("message_not_found");
      if (args.blocks !== undefined && !Array.isArray(args.blocks)) {
        throw new ApiError("invalid_blocks");
      }
      if (args.text !== undefined) msg.text = String(args.text);
      // As in Slack: absent blocks are kept; an empty array removes them.
      if (Array.isArray(args.blocks)) msg.blocks = args.blocks;
      msg.updates += 1;
      return { channel: msg.channel, ts: msg.ts, text: msg.text ?? "", message: messageJson(msg) };
    },

    "chat.postEphemeral": (args) => {
      requireChannel(args);
      requireArg(args, "user");
      requireContent(args);
      return { message_ts: nextTs() };
    },

    "chat.getPermalink": (args) => {
      const channel = requireChannel(args);
      const ts = str(args, "message_ts");
      const msg = ts ? findMessage(channel, ts) : undefined;
      if (!msg) throw new ApiError("message_not_found");
      return {
        channel: msg.channel,
        permalink: `https://emulated.slack.test/archives/${msg.channel}/p${msg.ts.replace(".", "")}`,
      };
    },

    "usergroups.users.list": (args) => {
      const id = str(args, "usergroup");
      const members = id ? usergroups.get(id) : undefined;
      if (!members) throw new ApiError("no_such_subteam");
      return { users: [...members] };
    },

    "views.open": (args) => {
      requireArg(args, "trigger_id");
      return { view: storeView(args.view) };
    },

    "views.publish": (args) => {
      requireArg(args, "user_id");
      return { view: storeView(args.view) };
    },

    "views.update": (args) => {
      const viewId = str(args, "view_id");
      const externalId = str(args, "external_id");
      if (!viewId && !externalId) {
        throw new ApiError("invalid_arguments", "missing required field: view_id");
      }
      const existing = viewId
        ? views.get(viewId)
        : [...views.values()].find((v) => v.view.external_id === externalId);
      if (!existing) throw new ApiError("not_found");
      return { view: storeView(args.view, existing.id) };
    },

    "conversations.info": (args) => {
      const channel = requireChannel(args);
      const id = canonicalChannel(channel);
      if (id.startsWith("D")) {
        return {
          channel: { id, is_im: true, is_member: true, user: `U${id.slice(1)}`, is_open: true },
        };
      }
      return {
        channel: {
          id,
          name: `channel-${id.toLowerCase()}`,
          is_channel: id.startsWith("C"),
          is_group: false,
          is_im: false,
          is_private: id.startsWith("G"),
          is_archived: false,
          is_member: membership.get(id) ?? true,
          context_team_id: teamId,
        },
      };
    },

    "conversations.open": (args) => {
      const users = (str(args, "users") ?? "").split(",").filter(Boolean);
      const channel = str(args, "channel");
      if (users.length === 0 && !channel) throw new ApiError("users_list_not_supplied");
      let id: string;
      if (channel) id = canonicalChannel(channel);
      else if (users.length === 1 && users[0]) id = dmChannelId(users[0]);
      else id = `G${users.map((u) => u.slice(1)).join("")}`.slice(0, 11);
      return { channel: { id } };
    },
  };

  const handleApi = async (
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
  ): Promise<void> => {
    const raw = req.method === "POST" ? await readBody(req) : "";
    const contentType = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
    let args: Record<string, unknown> = decodeForm(url.searchParams);
    let formToken: string | undefined;
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
    if (typeof args.token === "string") {
      formToken = args.token;
      delete args.token;
    }
    const auth = req.headers.authorization;
    const headerToken = auth?.startsWith("Bearer ")
      ? auth.slice("Bearer ".length).trim()
      : undefined;
    const token = headerToken || formToken;
    const call: SlackCall = { method, args, token, at: Date.now() };
    calls.push(call);

    const fault = takeFault(method);
    if (fault) {
      call.injected = true;
      answerFault(res, fault);
      return;
    }
    if (badJson) return sendJson(res, 200, { ok: false, error: "invalid_json" });
    const handler = handlers[method];
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

  const handleResponseUrl = async (
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
  ): Promise<void> => {
    const raw = await readBody(req);
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw);
      body =
        typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
          ? (parsed as Record<string, unknown>)
          : { _raw: raw };
    } catch {
      body = { _raw: raw };
    }
    responses.push({ id, url: `${baseUrl}/response/${id}`, body, at: Date.now() });
    const fault = takeFault("response_url");
    if (fault) return answerFault(res, fault);
    sendJson(res, 200, { ok: true });
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const apiMatch = /^\/api\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
    const responseMatch = /^\/response\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    let work: Promise<void>;
    if (apiMatch?.[1] && (req.method === "POST" || req.method === "GET")) {
      work = handleApi(req, res, apiMatch[1], url);
    } else if (responseMatch?.[1] && req.method === "POST") {
      work = handleResponseUrl(req, res, responseMatch[1]);
    } else {
      work = Promise.resolve(sendJson(res, 404, { ok: false, error: "not_found" }));
    }
    work.catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: "emulator_error" });
      else res.destroy();
      console.error("slack emulator error", err);
    });
  });

  const onSocketMessage = (connectionId: string, data: Buffer, isBinary: boolean): void => {
    if (isBinary) return;
    let message: unknown;
    try {
      message = JSON.parse(data.toString("utf8"));
    } catch {
      console.error("slack emulator: a Socket Mode message that is not JSON:", short(data, 200));
      return;
    }
    const envelopeId =
      typeof message === "object" && message !== null
        ? (message as { envelope_id?: unknown }).envelope_id
        : undefined;
    const pending = typeof envelopeId === "string" ? pendingAcks.get(envelopeId) : undefined;
    // Kept in `pending` too: reset() may have emptied `envelopes` since it was sent.
    const record = pending?.record ?? envelopes.find((e) => e.envelope_id === envelopeId);
    if (typeof envelopeId !== "string" || !record) {
      console.error("slack emulator: a Socket Mode message for no envelope:", short(message, 200));
      return;
    }
    if (record.ack) {
      console.error(
        `slack emulator: envelope ${envelopeId} acknowledged twice (on ${connectionId})`,
      );
      return;
    }
    const payload = (message as { payload?: unknown }).payload;
    const ack: SocketAck = {
      envelope_id: envelopeId,
      ...(typeof payload === "object" && payload !== null && !Array.isArray(payload)
        ? { payload: payload as Record<string, unknown> }
        : {}),
    };
    record.ack = ack;
    record.ackedAt = Date.now();
    pendingAcks.delete(envelopeId);
    pending?.resolve(ack);
  };

  const onSocketOpen = (ticket: string, ws: WebSocket): void => {
    const connection: SocketConnectionRecord = { id: ticket, openedAt: Date.now() };
    socketConnections.push(connection);
    openSockets.set(ticket, ws);
    ws.on("message", (data: Buffer, isBinary: boolean) => onSocketMessage(ticket, data, isBinary));
    ws.on("error", (err) => console.error("slack emulator: Socket Mode connection error", err));
    ws.on("close", (code: number) => {
      connection.closedAt = Date.now();
      connection.closeCode = code;
      openSockets.delete(ticket);
      for (const [id, pending] of pendingAcks) {
        if (pending.record.connectionId !== ticket) continue;
        pendingAcks.delete(id);
        pending.reject(
          new Error(`slack emulator: the connection closed (code ${code}) before ${id} was acked`),
        );
      }
      socketEvents.emit("change");
    });
    ws.send(
      JSON.stringify({
        type: "hello",
        num_connections: openSockets.size,
        debug_info: {
          host: "applink-emulated",
          started: new Date().toISOString(),
          build_number: 1,
          approximate_connection_time: 18060,
        },
        connection_info: { app_id: appId },
      }),
    );
    socketEvents.emit("change");
  };

  const refuseUpgrade = (socket: Duplex, status: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  };

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const ticket = SOCKET_PATH.exec(url.pathname)?.[1];
    if (!ticket) return refuseUpgrade(socket, "404 Not Found");
    // As Slack's: a ticket opens one connection; a new one needs apps.connections.open again.
    if (!tickets.delete(ticket)) return refuseUpgrade(socket, "401 Unauthorized");
    wsServer ??= import("ws").then(
      ({ WebSocketServer }) => new WebSocketServer({ noServer: true }),
    );
    wsServer.then(
      (wss) => wss.handleUpgrade(req, socket, head, (ws) => onSocketOpen(ticket, ws)),
      (err: unknown) => {
        console.error("slack emulator: Socket Mode needs the ws package (npm i -D ws)", err);
        refuseUpgrade(socket, "501 Not Implemented");
      },
    );
  });

  /** Resolves once `done()` holds, checked now and at every connection change; bounded. */
  const whenSockets = <T>(done: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = done();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        const seen = socketConnections
          .map((c) => `  ${c.id}: ${c.closedAt ? `closed (code ${c.closeCode})` : "open"}`)
          .join("\n");
        const opens = calls
          .filter((c) => c.method === "apps.connections.open")
          .map((c) => `  apps.connections.open with ${c.token?.slice(0, 5) ?? "no"}… token`)
          .join("\n");
        reject(
          new Error(
            `slack emulator: timed out after ${timeoutMs} ms waiting for ${what}\n` +
              `Socket Mode connections:\n${seen || "  (none)"}\n${opens || "  (no apps.connections.open call)"}`,
          ),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        socketEvents.off("change", check);
      };
      socketEvents.on("change", check);
      check();
    });

  const newestOpen = (): SocketConnectionRecord | undefined =>
    socketConnections.filter((c) => openSockets.has(c.id)).at(-1);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://127.0.0.1:${port}`;
  let responseCounter = 0;

  const emulator: SlackEmulator = {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    botToken,
    botUserId,
    botId,
    teamId,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    responseUrl: () => {
      responseCounter += 1;
      return `${baseUrl}/response/r${responseCounter}-${randomBytes(4).toString("hex")}`;
    },
    responses,
    responsesTo: (url) => responses.filter((r) => r.url === url).map((r) => r.body),
    messages: (channel) => [...(channels.get(canonicalChannel(channel)) ?? [])],
    dmChannelId,
    setUsergroup: (id, members) => {
      usergroups.set(id, [...members]);
    },
    setChannelMembership: (channelId, isMember) => {
      membership.set(canonicalChannel(channelId), isMember);
    },
    failNext: (method, fault) => {
      const times = fault.times ?? 1;
      if (times <= 0) return;
      const queue = faults.get(method) ?? [];
      queue.push({ remaining: times, fault });
      faults.set(method, queue);
    },
    waitFor: <T>(
      predicate: () => T | undefined | null | false,
      opts: { timeoutMs?: number; what?: string } = {},
    ): Promise<T> => {
      const timeoutMs = opts.timeoutMs ?? 5000;
      const started = Date.now();
      return new Promise<T>((resolve, reject) => {
        const tick = (): void => {
          let value: T | undefined | null | false;
          try {
            value = predicate();
          } catch (err) {
            reject(err);
            return;
          }
          if (value) {
            resolve(value);
            return;
          }
          if (Date.now() - started >= timeoutMs) {
            const seen = calls.map((c) => `  ${describeCall(c)}`).join("\n") || "  (none)";
            const sinks =
              responses.map((r) => `  ${r.url} <- ${short(r.body, 120)}`).join("\n") || "  (none)";
            reject(
              new Error(
                `slack emulator: timed out after ${timeoutMs} ms waiting for ${opts.what ?? "predicate"}\n` +
                  `Web API calls seen:\n${seen}\nresponse_url posts seen:\n${sinks}`,
              ),
            );
            return;
          }
          setTimeout(tick, 10);
        };
        tick();
      });
    },
    appToken,
    socketConnected: () => openSockets.size > 0,
    socketConnections,
    waitForSocket: (opts = {}) =>
      whenSockets(newestOpen, "a Socket Mode connection", opts.timeoutMs),
    waitForSocketClosed: (opts = {}) =>
      whenSockets(
        () => (socketConnections.length > 0 && openSockets.size === 0 ? true : undefined),
        "every Socket Mode connection to close",
        opts.timeoutMs,
      ).then(() => undefined),
    sendEnvelope: (type, payload, opts = {}) => {
      const connection = newestOpen();
      const ws = connection ? openSockets.get(connection.id) : undefined;
      if (!connection || !ws) {
        return Promise.reject(new Error("slack emulator: no Socket Mode connection is open"));
      }
      const acceptsResponsePayload =
        opts.acceptsResponsePayload ??
        (type === "slash_commands" ||
          (type === "interactive" && payload.type === "view_submission"));
      const record: SocketEnvelopeRecord = {
        envelope_id: randomUUID(),
        type,
        payload,
        accepts_response_payload: acceptsResponsePayload,
        connectionId: connection.id,
        sentAt: Date.now(),
      };
      envelopes.push(record);
      const timeoutMs = opts.timeoutMs ?? 3000;
      return new Promise<SocketAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          pendingAcks.delete(record.envelope_id);
          reject(
            new Error(
              `slack emulator: no ack for ${type} envelope ${record.envelope_id} within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        pendingAcks.set(record.envelope_id, {
          record,
          resolve: (ack) => {
            clearTimeout(timer);
            resolve(ack);
          },
          reject: (err) => {
            clearTimeout(timer);
            reject(err);
          },
        });
        ws.send(
          JSON.stringify({
            envelope_id: record.envelope_id,
            type,
            payload,
            accepts_response_payload: acceptsResponsePayload,
            ...(type === "events_api"
              ? { retry_attempt: opts.retryAttempt ?? 0, retry_reason: opts.retryReason ?? "" }
              : {}),
          }),
        );
      });
    },
    envelopes,
    sendSocketDisconnect: (reason = "refresh_requested") => {
      for (const ws of openSockets.values()) {
        ws.send(
          JSON.stringify({ type: "disconnect", reason, debug_info: { host: "applink-emulated" } }),
        );
      }
    },
    reset: () => {
      calls.length = 0;
      responses.length = 0;
      channels.clear();
      views.clear();
      faults.clear();
      envelopes.length = 0;
    },
    close: async () => {
      // Upgraded sockets are no longer the HTTP server's: closeAllConnections does not end them.
      for (const ws of openSockets.values()) ws.terminate();
      if (wsServer) await wsServer.then((wss) => wss.close()).catch(() => undefined);
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return emulator;
}
