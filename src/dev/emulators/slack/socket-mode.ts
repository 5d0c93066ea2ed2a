/**
 * Socket Mode, as `@slack/socket-mode` speaks it:
 * - `apps.connections.open` with the app-level token answers
 *   `{ok:true, url:"ws://127.0.0.1:PORT/socket-mode/<ticket>"}`; a ticket opens one connection.
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
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import { short } from "./describe.js";
import type {
  SlackCall,
  SlackEmulator,
  SocketAck,
  SocketConnectionRecord,
  SocketEnvelopeRecord,
} from "./types.js";

const SOCKET_PATH = /^\/socket-mode\/([A-Za-z0-9_-]+)$/;

/** What the emulator's public object gets from Socket Mode. */
export type SocketModeApi = Pick<
  SlackEmulator,
  | "socketConnected"
  | "socketConnections"
  | "waitForSocket"
  | "waitForSocketClosed"
  | "sendEnvelope"
  | "envelopes"
  | "sendSocketDisconnect"
>;

export interface SocketMode {
  api: SocketModeApi;
  /** A ticket for one connection: the URL `apps.connections.open` answers. */
  openTicket(): string;
  /** The HTTP server's `upgrade` listener. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Forgets the envelopes sent (connections stay open). */
  reset(): void;
  /** Drops every connection without a close handshake. */
  close(): Promise<void>;
}

function refuseUpgrade(socket: Duplex, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

export function socketMode(options: {
  baseUrl: string;
  appId: string;
  /** The Web API calls, to say which apps.connections.open calls came when a wait times out. */
  calls: SlackCall[];
}): SocketMode {
  const { appId, calls } = options;
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

  const api: SocketModeApi = {
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
          (type === "interactive" &&
            (payload.type === "view_submission" || payload.type === "block_suggestion")));
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
  };

  return {
    api,
    openTicket() {
      const ticket = randomBytes(12).toString("hex");
      tickets.add(ticket);
      return `${options.baseUrl.replace(/^http:/, "ws:")}/socket-mode/${ticket}`;
    },
    onUpgrade(req, socket, head) {
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
    },
    reset() {
      envelopes.length = 0;
    },
    async close() {
      // Upgraded sockets are no longer the HTTP server's: closeAllConnections does not end them.
      for (const ws of openSockets.values()) ws.terminate();
      if (wsServer) await wsServer.then((wss) => wss.close()).catch(() => undefined);
    },
  };
}
