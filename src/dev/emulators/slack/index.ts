/**
 * A loopback emulator of Slack, for the tests, `npm run demo` and `npm run bench`; the bot itself
 * never imports it. One HTTP server on 127.0.0.1 serves:
 * - the Web API, `/api/<method>` (web-api.ts), over an emulated workspace (workspace.ts);
 * - response_url sinks, `/response/<id>` (response-urls.ts);
 * - Socket Mode, a WebSocket upgrade on `/socket-mode/<ticket>` (socket-mode.ts).
 */
import { createServer, type RequestListener } from "node:http";
import { pollUntil } from "../../harness/poll.js";
import { FaultQueue, listenOnLoopback, sendJson } from "../http.js";
import { describeCall, short } from "./describe.js";
import { responseUrls } from "./response-urls.js";
import { socketMode } from "./socket-mode.js";
import type { SlackCall, SlackEmulator, SlackEmulatorOptions } from "./types.js";
import { type PendingSlackFault, webApiHandler } from "./web-api.js";
import { createWorkspace } from "./workspace.js";

export type * from "./types.js";

export async function startSlackEmulator(
  options: SlackEmulatorOptions = {},
): Promise<SlackEmulator> {
  const botToken = options.botToken ?? "xoxb-test-token";
  const botUserId = options.botUserId ?? "UBOT00001";
  const botId = options.botId ?? "BBOT00001";
  const teamId = options.teamId ?? "T0TEST001";
  const appId = "A0TEST001";
  const appToken = options.appToken ?? `xapp-1-${appId}-1-emulated`;

  const calls: SlackCall[] = [];
  const faults = new FaultQueue<PendingSlackFault>();
  /** Methods whose calls wait, unanswered, for their release (`holdCalls`). */
  const holds = new Map<string, { released: Promise<void>; release: () => void }>();
  const holdCalls = (method: string) => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    holds.set(method, { released, release });
    return () => {
      if (holds.get(method)?.released === released) holds.delete(method);
      release();
    };
  };
  const releaseAll = () => {
    for (const { release } of holds.values()) release();
    holds.clear();
  };
  const workspace = createWorkspace({
    botUserId,
    botId,
    teamId,
    appId,
    usergroups: options.usergroups ?? {},
  });

  // The routes need the server's address (response and socket URLs), known once it listens.
  let route: RequestListener = (_req, res) => res.destroy();
  const server = createServer((req, res) => route(req, res));
  const baseUrl = await listenOnLoopback(server);

  const sinks = responseUrls(baseUrl, faults);
  const socket = socketMode({ baseUrl, appId, calls });
  const handleApi = webApiHandler({
    botToken,
    appToken,
    calls,
    faults,
    hold: (method) => holds.get(method)?.released,
    methods: {
      ...workspace.methods,
      "apps.connections.open": () => ({ url: socket.openTicket() }),
    },
  });

  route = (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const apiMatch = /^\/api\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
    const responseMatch = /^\/response\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    let work: Promise<void>;
    if (apiMatch?.[1] && (req.method === "POST" || req.method === "GET")) {
      work = handleApi(req, res, apiMatch[1], url);
    } else if (responseMatch?.[1] && req.method === "POST") {
      work = sinks.handle(req, res, responseMatch[1]);
    } else {
      work = Promise.resolve(sendJson(res, 404, { ok: false, error: "not_found" }));
    }
    work.catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: "emulator_error" });
      else res.destroy();
      console.error("slack emulator error", err);
    });
  };
  server.on("upgrade", socket.onUpgrade);

  const { responses } = sinks;
  const emulator: SlackEmulator = {
    url: baseUrl,
    apiUrl: `${baseUrl}/api/`,
    botToken,
    botUserId,
    botId,
    teamId,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    responseUrl: sinks.next,
    responses,
    responsesTo: (url) => responses.filter((r) => r.url === url).map((r) => r.body),
    messages: workspace.messages,
    view: workspace.view,
    views: workspace.views,
    dmChannelId: workspace.dmChannelId,
    setUsergroup: workspace.setUsergroup,
    setChannelMembership: workspace.setChannelMembership,
    failNext: (method, fault) => faults.add({ method, fault }, fault.times ?? 1),
    holdCalls,
    waitFor: (predicate, opts = {}) =>
      // Any truthy value ends the wait (0 and "" do not, unlike pollUntil's own rule).
      pollUntil(() => predicate() || undefined, {
        timeoutMs: opts.timeoutMs,
        timedOut: (timeoutMs) => {
          const seen = calls.map((c) => `  ${describeCall(c)}`).join("\n") || "  (none)";
          const sinksSeen =
            responses.map((r) => `  ${r.url} <- ${short(r.body, 120)}`).join("\n") || "  (none)";
          return new Error(
            `slack emulator: timed out after ${timeoutMs} ms waiting for ${opts.what ?? "predicate"}\n` +
              `Web API calls seen:\n${seen}\nresponse_url posts seen:\n${sinksSeen}`,
          );
        },
      }),
    appToken,
    ...socket.api,
    reset: () => {
      calls.length = 0;
      responses.length = 0;
      workspace.reset();
      faults.clear();
      releaseAll();
      socket.reset();
    },
    close: async () => {
      releaseAll();
      await socket.close();
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
  return emulator;
}
