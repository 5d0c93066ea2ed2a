/**
 * The bench's Slack traffic: Slack-signed requests, prepared ahead and sent alone or all at once
 * over a pool of keep-alive sockets, each answer timed.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Agent, request } from "undici";
import { FORM_CONTENT_TYPE, signSlackRequest } from "../emulators/slack-requests.js";
import { HTTP_TIMEOUT_MS, SIGNING_SECRET } from "./config.js";
import { epochNow } from "./emulators.js";

/** Enough pooled connections that 200 requests at once each get their own socket. */
export const agent = new Agent({
  connections: 256,
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 30_000,
  headersTimeout: HTTP_TIMEOUT_MS,
  bodyTimeout: HTTP_TIMEOUT_MS,
});

export interface Signed {
  body: string;
  headers: Record<string, string>;
}

/** Signed ahead of the burst, so that the burst itself is only sending. */
export function signed(body: string): Signed {
  return {
    body,
    headers: {
      ...signSlackRequest(SIGNING_SECRET, body),
      "content-type": FORM_CONTENT_TYPE,
      "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    },
  };
}

export interface Answer {
  status: number;
  text: string;
  /** epoch ms when the request was issued */
  sentAt: number;
  /** issued → whole response read */
  ms: number;
}

export async function post(url: string, req: Signed): Promise<Answer> {
  const sentAt = epochNow();
  const t0 = performance.now();
  const res = await request(url, {
    method: "POST",
    headers: req.headers,
    body: req.body,
    dispatcher: agent,
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, sentAt, ms: performance.now() - t0 };
}

/** Opens `n` keep-alive sockets to the bot, so a burst measures the bot, not TCP handshakes. */
export async function warmUp(base: string, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await request(`${base}/healthz`, { dispatcher: agent });
      await res.body.dump();
    }),
  );
}

/** All at once; also reports how late the benchmark's own event loop ran meanwhile. */
export async function burst(
  url: string,
  requests: Signed[],
): Promise<{ answers: Answer[]; lagMs: number }> {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  const answers = await Promise.all(requests.map((r) => post(url, r)));
  lag.disable();
  return { answers, lagMs: lag.max / 1e6 };
}

export function expectOk(what: string, answers: Answer[]): void {
  const bad = answers.filter((a) => a.status !== 200);
  if (bad.length > 0) {
    throw new Error(
      `${bad.length} of ${answers.length} ${what} were answered ${bad[0]?.status}: ${bad[0]?.text.slice(0, 200)}`,
    );
  }
}
