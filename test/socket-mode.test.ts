import { webApi } from "@slack/bolt";
import { request, WebSocket } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SlackEmulator, startSlackEmulator } from "./support/slack-emulator.js";
import {
  blockActionPayload,
  sendSlashCommand,
  slashCommandPayload,
} from "./support/slack-requests.js";
import {
  ACME,
  APPROVAL_CHANNEL,
  APPROVER,
  ask,
  REQUESTER,
  SIGNING_SECRET,
  type Stack,
  startStack,
  TEAM_ID,
  waitForAudit,
} from "./support/stack.js";

/**
 * The bot in Socket Mode (SLACK_APP_TOKEN set, no signing secret): it opens a WebSocket to the
 * emulated Slack and gets commands and clicks as envelopes on it, acking each on the socket.
 */
let stack: Stack;

function patches(s: Stack) {
  return s.auth0.apiRequests("PATCH", "/api/v2/connections");
}

function healthUrl(s: Stack, path: string): string {
  return new URL(path, s.eventsUrl).href;
}

describe("the bot in Socket Mode", () => {
  beforeEach(async () => {
    stack = await startStack({ socketMode: true });
  });

  afterEach(async () => {
    await stack?.stop();
  });

  it("connects at start-up with the app token, through SLACK_API_URL", async () => {
    const { slack } = stack;
    expect(stack.env.SLACK_SIGNING_SECRET).toBeUndefined();
    expect(stack.env.SLACK_APP_TOKEN).toBe(slack.appToken);
    // start() resolved only once the hello came: the connection is open now, not eventually.
    expect(slack.socketConnected()).toBe(true);
    expect(slack.socketConnections).toHaveLength(1);

    const opens = slack.callsTo("apps.connections.open");
    expect(opens).toHaveLength(1);
    expect(opens[0]?.token).toBe(slack.appToken);
    // The app token is only for apps.connections.open, and the bot token never goes there.
    for (const call of slack.calls) {
      expect(call.token).toBe(
        call.method === "apps.connections.open" ? slack.appToken : slack.botToken,
      );
    }
    expect(slack.callsTo("auth.test").length).toBeGreaterThan(0);
    expect(stack.logs.join("\n")).toMatch(/"mode":"socket".*promote-connection started/);
  });

  it("a slash command envelope is acked on the socket at once, then the approval message is posted", async () => {
    const { slack } = stack;
    const responseUrl = slack.responseUrl();
    const ack = await slack.sendEnvelope(
      "slash_commands",
      slashCommandPayload({
        text: `${ACME.id} "onboarding Acme"`,
        user_id: REQUESTER,
        team_id: TEAM_ID,
        channel_id: "CGENERAL01",
        response_url: responseUrl,
      }),
    );
    const envelope = slack.envelopes.at(-1);
    expect(envelope?.accepts_response_payload).toBe(true);
    expect(ack.envelope_id).toBe(envelope?.envelope_id);
    expect(ack.payload).toMatchObject({ response_type: "ephemeral" });
    expect(String(ack.payload?.text)).toMatch(/Looking up/);
    // Acked well inside Slack's 3 s (sendEnvelope would have thrown after it).
    expect((envelope?.ackedAt ?? Number.POSITIVE_INFINITY) - (envelope?.sentAt ?? 0)).toBeLessThan(
      1000,
    );

    const reply = await stack.waitForReply(responseUrl, /Request `req_/);
    expect(reply).toContain(ACME.id);
    const requestId = await stack.latestRequestId();
    const approval = slack.messages(APPROVAL_CHANNEL).at(-1);
    expect(JSON.stringify(approval?.blocks)).toContain('"action_id":"approve_request"');
    await waitForAudit(stack, "requested", requestId);
  });

  it("an Approve click envelope promotes the connection, keeping its display name", async () => {
    const { slack } = stack;
    const requestId = await ask(stack, `${ACME.id} "onboarding Acme"`);
    const approval = slack.messages(APPROVAL_CHANNEL).at(-1);

    const ack = await slack.sendEnvelope(
      "interactive",
      blockActionPayload({
        user_id: APPROVER,
        team_id: TEAM_ID,
        action_id: "approve_request",
        value: requestId,
        block_id: `decision_${requestId}`,
        response_url: slack.responseUrl(),
        channel_id: APPROVAL_CHANNEL,
        message_ts: approval?.ts,
      }),
    );
    expect(ack.envelope_id).toBe(slack.envelopes.at(-1)?.envelope_id);
    expect(slack.envelopes.at(-1)?.accepts_response_payload).toBe(false);

    const promoted = await waitForAudit(stack, "promoted", requestId);
    expect(promoted).toContain(ACME.id);
    expect(patches(stack)).toHaveLength(1);
    expect(patches(stack)[0]?.body).toEqual({
      is_domain_connection: true,
      display_name: ACME.display_name,
    });
    expect(stack.auth0.connection(ACME.id)).toMatchObject({
      is_domain_connection: true,
      display_name: ACME.display_name,
    });
  });

  it("serves the health routes on PORT, and no Slack route over HTTP", async () => {
    const healthz = await request(healthUrl(stack, "/healthz"));
    expect(healthz.statusCode).toBe(200);
    expect(await healthz.body.json()).toEqual({ status: "ok" });
    const readyz = await request(healthUrl(stack, "/readyz"));
    expect(readyz.statusCode).toBe(200);
    await readyz.body.dump();
    // In Socket Mode Slack never posts to us: even a well-signed command finds no route.
    const events = await sendSlashCommand(stack.eventsUrl, SIGNING_SECRET, {
      text: ACME.id,
      user_id: REQUESTER,
      team_id: TEAM_ID,
      response_url: stack.slack.responseUrl(),
    });
    expect(events.status).toBe(404);
    expect(stack.auth0.requests).toHaveLength(0);
  });

  it("stopping the runtime closes the socket", async () => {
    const { slack } = stack;
    expect(slack.socketConnected()).toBe(true);
    await stack.stopRuntime();
    await slack.waitForSocketClosed();
    expect(slack.socketConnected()).toBe(false);
    // The app closed it with a close frame (1000, normal closure), not by dropping the TCP socket.
    expect(slack.socketConnections[0]?.closeCode).toBe(1000);
    expect(slack.callsTo("apps.connections.open")).toHaveLength(1);
  });

  it("on a disconnect message the bot reconnects with a fresh URL and keeps working", async () => {
    const { slack } = stack;
    slack.sendSocketDisconnect("refresh_requested");
    await slack.waitForSocketClosed();
    // @slack/socket-mode waits clientPingTimeout (5 s) before its first reconnect attempt.
    await slack.waitFor(() => slack.socketConnections.length === 2 && slack.socketConnected(), {
      what: "a second Socket Mode connection",
      timeoutMs: 10_000,
    });
    expect(slack.callsTo("apps.connections.open")).toHaveLength(2);
    const { status, ack } = await stack.command(REQUESTER, "help");
    expect(status).toBe(200);
    expect(ack).toContain("/promote-connection con_");
    expect(slack.envelopes.at(-1)?.connectionId).toBe(slack.socketConnections[1]?.id);
  });

  it("a Deny dialog's submission and the App Home event arrive as envelopes too", async () => {
    const requestId = await ask(stack, `${ACME.id} "onboarding Acme"`);
    const submitted = await stack.deny(APPROVER, requestId, "Acme is not onboarded yet");
    expect(submitted.status).toBe(200);
    expect(stack.slack.envelopes.at(-1)).toMatchObject({
      type: "interactive",
      payload: { type: "view_submission" },
      accepts_response_payload: true,
    });
    expect(await waitForAudit(stack, "denied", requestId)).toContain("Acme is not onboarded yet");
    expect(patches(stack)).toHaveLength(0);

    const home = await stack.openHome(REQUESTER);
    expect(JSON.stringify(home.blocks)).toContain(requestId);
    expect(stack.slack.envelopes.at(-1)).toMatchObject({
      type: "events_api",
      payload: { event: { type: "app_home_opened" } },
      accepts_response_payload: false,
    });
  });

  it("never writes the app token to the logs", async () => {
    await ask(stack, `${ACME.id} "onboarding Acme"`);
    expect(stack.logs.join("\n")).not.toContain(stack.slack.appToken);
  });
});

describe("the Slack emulator's Socket Mode", () => {
  let slack: SlackEmulator;
  const sockets: WebSocket[] = [];

  beforeEach(async () => {
    slack = await startSlackEmulator();
  });

  afterEach(async () => {
    for (const ws of sockets.splice(0)) ws.close();
    await slack.close();
  });

  function web(token: string) {
    return new webApi.WebClient(token, {
      slackApiUrl: slack.apiUrl,
      logLevel: webApi.LogLevel.ERROR,
      retryConfig: { retries: 0 },
    });
  }

  /** Opens a raw WebSocket to a fresh URL; resolves with it and the first message (the hello). */
  async function connect(url?: string): Promise<{ ws: WebSocket; hello: Record<string, unknown> }> {
    const target = url ?? String((await web(slack.appToken).apps.connections.open()).url);
    const ws = new WebSocket(target);
    sockets.push(ws);
    const hello = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.addEventListener("message", (e) => resolve(JSON.parse(String(e.data))), { once: true });
      ws.addEventListener("error", () => reject(new Error(`could not connect to ${target}`)));
    });
    return { ws, hello };
  }

  it("apps.connections.open takes the app token only, as Slack does", async () => {
    const opened = await web(slack.appToken).apps.connections.open();
    expect(opened.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket-mode\/[0-9a-f]+$/);
    await expect(web(slack.botToken).apps.connections.open()).rejects.toMatchObject({
      data: { ok: false, error: "not_allowed_token_type" },
    });
    await expect(web("xapp-1-A0TEST001-1-wrong").apps.connections.open()).rejects.toMatchObject({
      data: { ok: false, error: "invalid_auth" },
    });
    // ...and the app token is no bot token either.
    await expect(web(slack.appToken).auth.test()).rejects.toMatchObject({
      data: { ok: false, error: "not_allowed_token_type" },
    });
  });

  it("says hello, relays envelopes and resolves with their acks; a URL opens one connection", async () => {
    await expect(slack.sendEnvelope("events_api", {})).rejects.toThrow(/no Socket Mode connection/);
    const url = String((await web(slack.appToken).apps.connections.open()).url);
    const { ws, hello } = await connect(url);
    expect(hello).toMatchObject({ type: "hello", num_connections: 1 });
    await slack.waitForSocket();
    expect(slack.socketConnected()).toBe(true);

    // The client acks what it gets, echoing a payload for slash commands.
    ws.addEventListener("message", (e) => {
      const envelope = JSON.parse(String(e.data)) as { envelope_id: string; type: string };
      const payload = envelope.type === "slash_commands" ? { text: "got it" } : undefined;
      ws.send(JSON.stringify({ envelope_id: envelope.envelope_id, payload }));
    });
    const ack = await slack.sendEnvelope("slash_commands", { command: "/x", text: "" });
    expect(ack).toEqual({
      envelope_id: slack.envelopes[0]?.envelope_id,
      payload: { text: "got it" },
    });
    expect(slack.envelopes[0]).toMatchObject({
      type: "slash_commands",
      accepts_response_payload: true,
    });

    // The same URL again is refused: tickets are single-use.
    await expect(connect(url)).rejects.toThrow(/could not connect/);

    ws.close(1000);
    await slack.waitForSocketClosed();
    expect(slack.socketConnections[0]?.closeCode).toBe(1000);
  });

  it("an envelope nobody acks fails at the deadline", async () => {
    await connect();
    await slack.waitForSocket();
    await expect(
      slack.sendEnvelope("interactive", { type: "block_actions" }, { timeoutMs: 200 }),
    ).rejects.toThrow(/no ack for interactive envelope .* within 200 ms/);
    expect(slack.envelopes[0]?.ack).toBeUndefined();
  });
});
