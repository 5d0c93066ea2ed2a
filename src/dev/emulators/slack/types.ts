/** The Slack emulator's public types: what tests and tools see of it. */
import type { WaitFor } from "../../harness/poll.js";

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
   * Default as Slack sends it: true for slash commands, view submissions and block suggestions
   * (the options are the ack's payload), false for block actions and Events API events.
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
  /**
   * A view (modal or Home tab) as the app last drew it with views.open, views.update or
   * views.publish, by its id (`V…`, in the answer to views.open): id, hash, blocks,
   * private_metadata, callback_id…
   */
  view(id: string): Record<string, unknown> | undefined;
  /** Every view, as last drawn, in the order they were first opened or published. */
  views(): Record<string, unknown>[];
  /** The DM channel id (D...) the emulator uses for a user id. */
  dmChannelId(userId: string): string;
  setUsergroup(id: string, members: string[]): void;
  /**
   * Whether the bot is a member of a channel, as `conversations.info` reports it in
   * `channel.is_member` (default: a member of every channel); `chat.postMessage` to a channel it
   * is not in answers `not_in_channel`. Kept across `reset()`.
   */
  setChannelMembership(channelId: string, isMember: boolean): void;
  /**
   * Make the next `times` (default 1) calls of `method` fail: with HTTP 429 + `Retry-After` and
   * body {ok:false,error:"ratelimited"}; or HTTP `status`; or HTTP 200 with {ok:false,error}.
   * `method` "response_url" applies to POSTs to the response URL sinks instead.
   */
  failNext(method: string, fault: SlackFault): void;
  /**
   * Leave every call of `method` unanswered (each is recorded as it arrives) until the returned
   * function is called; then they are all answered as usual. `reset()` and `close()` release too.
   */
  holdCalls(method: string): () => void;
  /**
   * Poll (every ~10 ms) until predicate returns a truthy value, or throw after timeoutMs
   * (default 5000) with a message listing the calls seen so far.
   */
  waitFor: WaitFor;
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
