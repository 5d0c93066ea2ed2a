import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusOf, trickle, untilServerCloses } from "./support/raw-http.js";
import { postSigned, sendSlashCommand } from "./support/slack-requests.js";
import { ACME, REQUESTER, SIGNING_SECRET, type Stack, startStack } from "./support/stack.js";

const MiB = 1024 * 1024;
const portOf = (s: Stack) => Number(new URL(s.eventsUrl).port);
const head = (lines: string[]) => `${lines.join("\r\n")}\r\n\r\n`;
/** The head of a POST to Slack's route; `framing` says how long the body is. */
const slackPost = (framing: string) =>
  head([
    "POST /slack/events HTTP/1.1",
    "Host: 127.0.0.1",
    "Content-Type: application/json",
    framing,
  ]);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe("Slack's requests in HTTP mode, through Bolt's receiver", () => {
  it("a request signed more than 5 minutes ago is refused with 401 and does nothing", async () => {
    const before = stack.auth0.requests.length;
    const res = await sendSlashCommand(
      stack.eventsUrl,
      SIGNING_SECRET,
      {
        text: ACME.id,
        user_id: REQUESTER,
        team_id: "T0TEST001",
        response_url: stack.slack.responseUrl(),
      },
      { timestampSec: Math.floor(Date.now() / 1000) - 6 * 60 },
    );
    expect(res.status).toBe(401);
    expect(res.body).toBe("");
    expect(stack.auth0.requests.length).toBe(before);
  });

  it("a forged signature is refused with 401", async () => {
    const res = await sendSlashCommand(
      stack.eventsUrl,
      SIGNING_SECRET,
      {
        text: "help",
        user_id: REQUESTER,
        team_id: "T0TEST001",
        response_url: stack.slack.responseUrl(),
      },
      { signature: `v0=${"0".repeat(64)}` },
    );
    expect(res.status).toBe(401);
  });

  it("answers the Events API's URL verification with its challenge", async () => {
    const body = JSON.stringify({
      type: "url_verification",
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
      token: "x",
    });
    const res = await postSigned(stack.eventsUrl, SIGNING_SECRET, body, "application/json");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      challenge: "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    });
  });

  it("a signed body that is not a Slack payload gets 400; a GET gets 405", async () => {
    const res = await postSigned(stack.eventsUrl, SIGNING_SECRET, "{not json", "application/json");
    expect(res.status).toBe(400);
    const get = await request(stack.eventsUrl);
    expect(get.statusCode).toBe(405);
    await get.body.dump();
  });

  it("a command's immediate answer is the HTTP response itself, before any Auth0 call", async () => {
    const before = stack.auth0.requests.length;
    const res = await stack.command(REQUESTER, "help");
    expect(res.ack).toContain("/promote-connection");
    const looking = await stack.command(REQUESTER, ACME.id);
    expect(looking.ack).toMatch(/Looking up/);
    // The help answer made no Auth0 call at all; the lookup's came after the ack.
    await stack.waitForReply(looking.responseUrl, /Request `req_/);
    expect(stack.auth0.requests.length).toBeGreaterThan(before);
  });
});

describe("bodies are capped at 1 MiB, before Bolt reads them", () => {
  it("a body declared bigger than 1 MiB gets 413 before it is sent, and the connection is closed", async () => {
    const { response } = await untilServerCloses(portOf(stack), (socket) => {
      socket.write(slackPost(`Content-Length: ${MiB + 1}`));
      return undefined;
    });
    expect(statusOf(response)).toBe(413);
  });

  it("a chunked body that grows past 1 MiB gets 413, however it is cut", async () => {
    const { response } = await untilServerCloses(portOf(stack), (socket) => {
      socket.write(slackPost("Transfer-Encoding: chunked"));
      const chunk = Buffer.alloc(64 * 1024, "a");
      for (let sent = 0; sent <= MiB; sent += chunk.length) {
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        socket.write("\r\n");
      }
      socket.write("0\r\n\r\n");
      return undefined;
    });
    expect(statusOf(response)).toBe(413);
  });

  it("a signed body of exactly 1 MiB is still Slack's: it is verified and answered", async () => {
    const challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P";
    const shell = JSON.stringify({ type: "url_verification", challenge, token: "x", pad: "" });
    const body = shell.replace('"pad":""', `"pad":"${"p".repeat(MiB - shell.length)}"`);
    expect(Buffer.byteLength(body)).toBe(MiB);
    const res = await postSigned(stack.eventsUrl, SIGNING_SECRET, body, "application/json");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ challenge });
  });
});

describe("requests that never finish are dropped (timeouts shortened for the test)", () => {
  let slow: Stack;
  beforeAll(async () => {
    slow = await startStack({
      http: { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 300 },
    });
  });
  afterAll(async () => {
    await slow?.stop();
  });

  it("headers sent a byte at a time are cut off at the headers timeout with 408", async () => {
    const { response, closedAfterMs } = await untilServerCloses(portOf(slow), (socket) => {
      socket.write("POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
      return trickle(socket, 20);
    });
    expect(statusOf(response)).toBe(408);
    expect(closedAfterMs).toBeGreaterThanOrEqual(250);
  });

  it("a body sent a byte at a time is cut off at the request timeout with 408", async () => {
    const { response, closedAfterMs } = await untilServerCloses(portOf(slow), (socket) => {
      socket.write(slackPost("Content-Length: 100000"));
      return trickle(socket, 20);
    });
    expect(statusOf(response)).toBe(408);
    expect(closedAfterMs).toBeGreaterThanOrEqual(500);
  });

  it("an idle kept-alive connection is closed after the keep-alive timeout", async () => {
    const { response, closedAfterMs } = await untilServerCloses(
      portOf(slow),
      (socket) => {
        socket.write(head(["GET /healthz HTTP/1.1", "Host: 127.0.0.1"]));
        return undefined;
      },
      // Node's own default would close it after 5 s.
      3_000,
    );
    expect(statusOf(response)).toBe(200);
    expect(closedAfterMs).toBeGreaterThanOrEqual(250);
  });
});
