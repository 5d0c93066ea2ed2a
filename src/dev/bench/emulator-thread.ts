/**
 * The Slack and Auth0 emulators of `npm run bench`, in a worker thread of their own: the
 * benchmark's main thread then only sends requests and reads clocks, so the emulators' work (a
 * thousand Slack and Auth0 calls from the bot) cannot delay its reading of an ack.
 *
 * The main thread talks to it with {@link EmulatorCall} messages; each gets one
 * {@link EmulatorAnswer}. Times are epoch milliseconds (performance.timeOrigin + now()).
 */
import { parentPort } from "node:worker_threads";
import {
  type Auth0Emulator,
  type Auth0FaultSpec,
  type EmulatedConnection,
  startAuth0Emulator,
} from "../emulators/auth0/index.js";
import { type SlackEmulator, startSlackEmulator } from "../emulators/slack/index.js";

export interface EmulatorInfo {
  slackUrl: string;
  slackApiUrl: string;
  botToken: string;
  teamId: string;
  auth0Url: string;
  clientId: string;
  clientSecret: string;
}

/** What Auth0 received: one Management API request. */
export interface ApiCall {
  method: string;
  path: string;
  status: number;
  /** Arrival time, epoch ms. */
  at: number;
}

/** An approval message, as the bench needs it to click its button. */
export interface ApprovalMessage {
  requestId: string;
  connectionId: string;
  ts: string;
}

export type EmulatorCall =
  | { op: "start"; connections: EmulatedConnection[]; teamId: string }
  | { op: "now" }
  | { op: "setRateLimit"; rateLimit: { perSecond: number; burst: number } | null }
  | { op: "injectFault"; fault: Auth0FaultSpec }
  | { op: "apiCallCount" }
  | { op: "tokensIssued" }
  | { op: "apiCalls"; from: number }
  | { op: "approvals"; channel: string }
  | { op: "replies"; urls: string[] }
  | { op: "waitForPatch"; connectionId: string; timeoutMs: number }
  | { op: "addConnections"; connections: EmulatedConnection[] }
  | { op: "newestView"; callbackId: string }
  | { op: "close" };

export type EmulatorAnswer = { id: number } & (
  | { ok: true; value: unknown }
  | { ok: false; error: string }
);

const REQUEST_ID = /req_[0-9a-hjkmnp-tv-z]{10}/;
const CONNECTION_ID = /con_[A-Za-z0-9]{16}/;

let slack: SlackEmulator | undefined;
let auth0: Auth0Emulator | undefined;

function emulators(): { slack: SlackEmulator; auth0: Auth0Emulator } {
  if (!slack || !auth0) throw new Error("the emulators are not started");
  return { slack, auth0 };
}

function apiCallsFrom(from: number): ApiCall[] {
  const calls: ApiCall[] = [];
  const { requests } = emulators().auth0;
  for (let i = from; i < requests.length; i++) {
    const r = requests[i];
    if (r?.path.startsWith("/api/v2/")) {
      calls.push({ method: r.method, path: r.path, status: r.status, at: r.at });
    }
  }
  return calls;
}

function approveButtonValue(blocks: unknown[] | undefined): string | undefined {
  for (const block of blocks ?? []) {
    for (const element of (block as { elements?: unknown[] }).elements ?? []) {
      const button = element as { action_id?: string; value?: string };
      if (button.action_id === "approve_request" && button.value) return button.value;
    }
  }
  return undefined;
}

async function handle(call: EmulatorCall): Promise<unknown> {
  switch (call.op) {
    case "start": {
      slack = await startSlackEmulator({ botToken: "xoxb-bench-emulated", teamId: call.teamId });
      auth0 = await startAuth0Emulator({ connections: call.connections });
      const info: EmulatorInfo = {
        slackUrl: slack.url,
        slackApiUrl: slack.apiUrl,
        botToken: slack.botToken,
        teamId: slack.teamId,
        auth0Url: auth0.url,
        clientId: auth0.clientId,
        clientSecret: auth0.clientSecret,
      };
      return info;
    }
    case "now":
      return performance.timeOrigin + performance.now();
    case "setRateLimit":
      emulators().auth0.setRateLimit(call.rateLimit ?? undefined);
      return null;
    case "injectFault":
      emulators().auth0.injectFault(call.fault);
      return null;
    case "apiCallCount":
      return emulators().auth0.requests.length;
    case "apiCalls":
      return apiCallsFrom(call.from);
    case "tokensIssued":
      return emulators().auth0.tokensIssued;
    case "approvals": {
      const found: ApprovalMessage[] = [];
      for (const message of emulators().slack.messages(call.channel)) {
        // Only messages that still carry buttons: decided requests have none.
        const requestId = approveButtonValue(message.blocks);
        const connectionId = CONNECTION_ID.exec(JSON.stringify(message.blocks ?? []))?.[0];
        if (requestId && REQUEST_ID.test(requestId) && connectionId) {
          found.push({ requestId, connectionId, ts: message.ts });
        }
      }
      return found;
    }
    case "replies": {
      const { slack: s } = emulators();
      return call.urls.map((url) => s.responsesTo(url).map((b) => String(b.text ?? "")));
    }
    case "waitForPatch": {
      const { auth0: a } = emulators();
      const path = `/api/v2/connections/${call.connectionId}`;
      const patch = await a.waitFor(
        () => a.requests.find((r) => r.method === "PATCH" && r.path === path),
        { timeoutMs: call.timeoutMs, what: `a PATCH of ${call.connectionId}` },
      );
      return { at: patch.at, status: patch.status } satisfies Pick<ApiCall, "at" | "status">;
    }
    case "addConnections":
      for (const c of call.connections) emulators().auth0.addConnection(c);
      return null;
    case "newestView":
      return (
        emulators()
          .slack.views()
          .filter((v) => v.callback_id === call.callbackId)
          .at(-1) ?? null
      );
    case "close":
      await Promise.allSettled([slack?.close(), auth0?.close()]);
      slack = undefined;
      auth0 = undefined;
      return null;
  }
}

const port = parentPort;
if (!port) throw new Error("emulator-thread runs as a worker thread of npm run bench");
port.on("message", (message: { id: number; call: EmulatorCall }) => {
  handle(message.call).then(
    (value) => port.postMessage({ id: message.id, ok: true, value } satisfies EmulatorAnswer),
    (err: unknown) =>
      port.postMessage({
        id: message.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      } satisfies EmulatorAnswer),
  );
});
