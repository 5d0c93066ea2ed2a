import type { AddressInfo } from "node:net";
import { App, type BlockAction, type ButtonAction, LogLevel, webApi } from "@slack/bolt";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type SlackEmulator, startSlackEmulator } from "./support/slack-emulator.js";
import {
  closeSlackRequestAgent,
  FORM_CONTENT_TYPE,
  postSigned,
  sendBlockAction,
  sendSlashCommand,
  sendViewSubmission,
  signSlackRequest,
  slashCommandBody,
} from "./support/slack-requests.js";

const fastRetries = { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 10 };

describe("Slack emulator, driven by the real @slack/web-api WebClient", () => {
  let emu: SlackEmulator;

  beforeAll(async () => {
    emu = await startSlackEmulator({ usergroups: { S0APPROVERS: ["U0ALICE01", "U0BOB0001"] } });
  });
  afterEach(() => emu.reset());
  afterAll(async () => {
    await emu.close();
  });

  function client(opts: Partial<webApi.WebClientOptions> = {}, token = emu.botToken) {
    return new webApi.WebClient(token, {
      slackApiUrl: emu.apiUrl,
      logLevel: webApi.LogLevel.ERROR,
      retryConfig: fastRetries,
      ...opts,
    });
  }

  it("answers auth.test with the bot identity and rejects unknown tokens", async () => {
    const auth = await client().auth.test();
    expect(auth).toMatchObject({
      ok: true,
      user_id: "UBOT00001",
      bot_id: "BBOT00001",
      team_id: "T0TEST001",
      is_enterprise_install: false,
    });
    await expect(client({}, "xoxb-wrong").auth.test()).rejects.toMatchObject({
      code: webApi.ErrorCode.PlatformError,
      data: { ok: false, error: "invalid_auth" },
    });
    expect(emu.callsTo("auth.test").map((c) => c.token)).toEqual(["xoxb-test-token", "xoxb-wrong"]);
  });

  it("records posts with blocks decoded, applies chat.update, and records ephemerals", async () => {
    const web = client();
    const blocks = [
      { type: "section", text: { type: "mrkdwn", text: "*Promote* `con_abc`?" } },
      {
        type: "actions",
        elements: [
          {
            type: "button",
            action_id: "approve_request",
            value: "req1",
            text: { type: "plain_text", text: "Approve" },
          },
        ],
      },
    ];
    const posted = await web.chat.postMessage({
      channel: "C0APPROVAL",
      text: "Promote con_abc?",
      blocks,
    });
    expect(posted.ok).toBe(true);
    expect(posted.channel).toBe("C0APPROVAL");
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(posted.message).toMatchObject({
      type: "message",
      user: "UBOT00001",
      bot_id: "BBOT00001",
      blocks,
    });

    const [call] = emu.callsTo("chat.postMessage");
    expect(call?.token).toBe("xoxb-test-token");
    expect(call?.args.blocks).toEqual(blocks); // decoded from the JSON string WebClient sends
    expect(call?.args.channel).toBe("C0APPROVAL");

    const second = await web.chat.postMessage({ channel: "C0APPROVAL", text: "audit line" });
    expect(Number(second.ts)).toBeGreaterThan(Number(posted.ts));

    const updated = await web.chat.update({
      channel: "C0APPROVAL",
      ts: posted.ts as string,
      text: "Approved by <@U0ALICE01>",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "Approved" } }],
    });
    expect(updated).toMatchObject({
      ok: true,
      channel: "C0APPROVAL",
      ts: posted.ts,
      text: "Approved by <@U0ALICE01>",
    });

    const msgs = emu.messages("C0APPROVAL");
    expect(msgs).toHaveLength(2);
    expect(msgs[0]).toMatchObject({
      ts: posted.ts,
      text: "Approved by <@U0ALICE01>",
      blocks: [{ type: "section", text: { type: "mrkdwn", text: "Approved" } }],
      user: "UBOT00001",
      updates: 1,
    });
    expect(msgs[1]).toMatchObject({ text: "audit line", updates: 0 });

    await expect(
      web.chat.update({ channel: "C0APPROVAL", ts: "1.000000", text: "x" }),
    ).rejects.toMatchObject({ data: { error: "message_not_found" } });

    const eph = await web.chat.postEphemeral({
      channel: "C0APPROVAL",
      user: "U0ALICE01",
      text: "only you",
    });
    expect(eph.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(emu.callsTo("chat.postEphemeral")[0]?.args).toMatchObject({
      user: "U0ALICE01",
      text: "only you",
    });

    const link = await web.chat.getPermalink({
      channel: "C0APPROVAL",
      message_ts: posted.ts as string,
    });
    expect(link.permalink).toBe(
      `https://emulated.slack.test/archives/C0APPROVAL/p${(posted.ts as string).replace(".", "")}`,
    );
  });

  it("validates required chat.postMessage arguments", async () => {
    const web = client();
    await expect(web.chat.postMessage({ channel: "", text: "x" })).rejects.toMatchObject({
      data: { error: "channel_not_found" },
    });
    await expect(web.apiCall("chat.postMessage", { channel: "C0APPROVAL" })).rejects.toMatchObject({
      data: { error: "no_text" },
    });
    await expect(web.apiCall("no.such.method", {})).rejects.toMatchObject({
      data: { error: "unknown_method" },
    });
  });

  it("treats a user id as a DM channel", async () => {
    const web = client();
    const posted = await web.chat.postMessage({
      channel: "U0ALICE01",
      text: "your request is done",
    });
    expect(posted.channel).toBe("D0ALICE01");
    expect(emu.messages("U0ALICE01").map((m) => m.text)).toEqual(["your request is done"]);
    expect(emu.messages("D0ALICE01")).toEqual(emu.messages("U0ALICE01"));
    const opened = await web.conversations.open({ users: "U0ALICE01" });
    expect(opened.channel?.id).toBe("D0ALICE01");
    // editing via the D id the API returned hits the same message
    await web.chat.update({ channel: "D0ALICE01", ts: posted.ts as string, text: "edited" });
    expect(emu.messages("U0ALICE01")[0]).toMatchObject({ text: "edited", updates: 1 });
  });

  it("lists usergroup members, and answers no_such_subteam for unknown groups", async () => {
    const web = client();
    const listed = await web.usergroups.users.list({ usergroup: "S0APPROVERS" });
    expect(listed.users).toEqual(["U0ALICE01", "U0BOB0001"]);
    emu.setUsergroup("S0APPROVERS", ["U0CAROL01"]);
    expect((await web.usergroups.users.list({ usergroup: "S0APPROVERS" })).users).toEqual([
      "U0CAROL01",
    ]);
    await expect(web.usergroups.users.list({ usergroup: "S0NOPE" })).rejects.toMatchObject({
      data: { error: "no_such_subteam" },
    });
  });

  it("opens, updates and publishes views, and answers conversations.info", async () => {
    const web = client();
    const opened = await web.views.open({
      trigger_id: "123.456.abc",
      view: {
        type: "modal",
        callback_id: "deny_reason",
        private_metadata: "req1",
        title: { type: "plain_text", text: "Deny" },
        blocks: [],
      },
    });
    expect(opened.view?.id).toMatch(/^V/);
    expect(opened.view).toMatchObject({ callback_id: "deny_reason", private_metadata: "req1" });
    expect(emu.callsTo("views.open")[0]?.args.view).toMatchObject({ callback_id: "deny_reason" });
    const updated = await web.views.update({
      view_id: opened.view?.id as string,
      view: { type: "modal", title: { type: "plain_text", text: "Denied" }, blocks: [] },
    });
    expect(updated.view?.id).toBe(opened.view?.id);
    const published = await web.views.publish({
      user_id: "U0ALICE01",
      view: { type: "home", blocks: [] },
    });
    expect(published.view?.type).toBe("home");

    const info = await web.conversations.info({ channel: "C0AUDIT01" });
    expect(info.channel).toMatchObject({ id: "C0AUDIT01", is_member: true });
    expect(typeof info.channel?.name).toBe("string");
  });

  it("decodes application/json requests too", async () => {
    const res = await request(`${emu.apiUrl}chat.postMessage`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${emu.botToken}`,
        "content-type": "application/json; charset=utf-8",
      },
      body: JSON.stringify({ channel: "C0AUDIT01", blocks: [{ type: "divider" }], text: "json" }),
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toMatchObject({ ok: true, channel: "C0AUDIT01" });
    expect(emu.callsTo("chat.postMessage")[0]?.args.blocks).toEqual([{ type: "divider" }]);
  });

  it("takes the token from a form field when there is no Authorization header", async () => {
    const post = async (body: string) => {
      const res = await request(`${emu.apiUrl}auth.test`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
      return (await res.body.json()) as Record<string, unknown>;
    };
    expect(await post(`token=${emu.botToken}`)).toMatchObject({ ok: true, user_id: "UBOT00001" });
    expect(await post("")).toEqual({ ok: false, error: "not_authed" });
    expect(emu.callsTo("auth.test").map((c) => [c.token, c.args])).toEqual([
      [emu.botToken, {}],
      [undefined, {}],
    ]);
  });

  it("injects a 429: the WebClient waits Retry-After, retries and succeeds", async () => {
    const web = client();
    const rateLimited: number[] = [];
    web.on(webApi.WebClientEvent.RATE_LIMITED, (sec: number) => rateLimited.push(sec));
    emu.failNext("chat.postMessage", { ratelimited: { retryAfterSec: 1 } });
    const started = Date.now();
    const res = await web.chat.postMessage({ channel: "C0AUDIT01", text: "audit" });
    expect(res.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(rateLimited).toEqual([1]);
    const calls = emu.callsTo("chat.postMessage");
    expect(calls).toHaveLength(2);
    expect(calls.map((c) => Boolean(c.injected))).toEqual([true, false]);
    expect(emu.messages("C0AUDIT01")).toHaveLength(1);
  });

  it("injects HTTP 500: the client sees a WebAPIHTTPError (and retries it if allowed)", async () => {
    emu.failNext("chat.postMessage", { status: 500 });
    await expect(
      client({ retryConfig: { retries: 0 } }).chat.postMessage({ channel: "C0AUDIT01", text: "a" }),
    ).rejects.toMatchObject({ code: webApi.ErrorCode.HTTPError, statusCode: 500 });
    expect(emu.callsTo("chat.postMessage")).toHaveLength(1);

    // The WebClient's retry policy retries HTTP errors other than 429 as well (the default policy
    // retries 10 times over about 30 minutes).
    emu.reset();
    emu.failNext("chat.postMessage", { status: 503, times: 1 });
    const res = await client().chat.postMessage({ channel: "C0AUDIT01", text: "b" });
    expect(res.ok).toBe(true);
    expect(emu.callsTo("chat.postMessage")).toHaveLength(2);
  });

  it("injects {ok:false,error}: the client sees a platform error and does not retry", async () => {
    emu.failNext("chat.postMessage", { error: "channel_not_found", times: 2 });
    const web = client();
    for (let i = 0; i < 2; i++) {
      await expect(web.chat.postMessage({ channel: "C0AUDIT01", text: "a" })).rejects.toMatchObject(
        {
          code: webApi.ErrorCode.PlatformError,
          data: { ok: false, error: "channel_not_found" },
        },
      );
    }
    expect(emu.callsTo("chat.postMessage")).toHaveLength(2);
    expect((await web.chat.postMessage({ channel: "C0AUDIT01", text: "a" })).ok).toBe(true);
  });

  it("waitFor resolves on a truthy value and times out listing the calls seen", async () => {
    const web = client();
    void web.chat.postMessage({ channel: "C0AUDIT01", text: "later" });
    const msg = await emu.waitFor(() => emu.messages("C0AUDIT01")[0], { what: "audit line" });
    expect(msg.text).toBe("later");
    await expect(
      emu.waitFor(() => emu.messages("C0NEVER01")[0], {
        timeoutMs: 50,
        what: "a message in C0NEVER01",
      }),
    ).rejects.toThrow(/a message in C0NEVER01[\s\S]*chat\.postMessage\(.*channel=C0AUDIT01/);
  });
});

describe("Bolt's real HTTPReceiver fed signed requests", () => {
  const signingSecret = "test-signing-secret";
  let emu: SlackEmulator;
  let app: App;
  let eventsUrl: string;
  let baseUrl: string;
  const actionsSeen: Array<{ action_id: string; value: string; user: string; channel?: string }> =
    [];

  beforeAll(async () => {
    // Bolt calls auth.test from the App constructor: the emulator must be up first.
    emu = await startSlackEmulator();
    app = new App({
      token: emu.botToken,
      signingSecret,
      clientOptions: { slackApiUrl: emu.apiUrl },
      logLevel: LogLevel.ERROR,
      customRoutes: [
        {
          path: "/healthz",
          method: ["GET"],
          handler: (_req, res) => {
            res.writeHead(200, { "content-type": "text/plain" });
            res.end("ok");
          },
        },
      ],
    });
    app.command("/promote-connection", async ({ ack, respond, command }) => {
      await ack();
      await respond({ response_type: "ephemeral", text: `received: ${command.text}` });
    });
    app.action<BlockAction<ButtonAction>>("deny_request", async ({ ack, action, body }) => {
      await ack();
      actionsSeen.push({
        action_id: action.action_id,
        value: action.value ?? "",
        user: body.user.id,
        channel: body.channel?.id,
      });
    });
    app.view("deny_reason", async ({ ack, view }) => {
      const reason = view.state.values.reason?.reason_input?.value ?? "";
      if (reason.length < 3) {
        await ack({ response_action: "errors", errors: { reason: "Give a reason" } });
      } else {
        await ack();
      }
    });
    const server = await app.start({ port: 0, host: "127.0.0.1" });
    const { port } = server.address() as AddressInfo;
    baseUrl = `http://127.0.0.1:${port}`;
    eventsUrl = `${baseUrl}/slack/events`;
  });

  afterAll(async () => {
    await app?.stop();
    await closeSlackRequestAgent();
    await emu?.close();
  });

  it("called auth.test at construction with the bot token", async () => {
    await emu.waitFor(() => emu.callsTo("auth.test").length > 0, { what: "auth.test" });
    expect(emu.callsTo("auth.test")[0]?.token).toBe(emu.botToken);
  });

  it("a signed slash command is acked with 200 and respond() lands at the response_url", async () => {
    const responseUrl = emu.responseUrl();
    const res = await sendSlashCommand(eventsUrl, signingSecret, {
      text: 'con_0123456789ABCDEF "onboarding Acme"',
      user_id: "U0ALICE01",
      team_id: emu.teamId,
      response_url: responseUrl,
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe("");
    const body = await emu.waitFor(() => emu.responsesTo(responseUrl)[0], { what: "respond()" });
    expect(body).toEqual({
      response_type: "ephemeral",
      text: 'received: con_0123456789ABCDEF "onboarding Acme"',
    });
  });

  it("a signed block action reaches the handler with its action_id and value", async () => {
    const res = await sendBlockAction(eventsUrl, signingSecret, {
      user_id: "U0BOB0001",
      team_id: emu.teamId,
      action_id: "deny_request",
      value: "req_42",
      response_url: emu.responseUrl(),
      channel_id: "C0APPROVAL",
      message_ts: "1700000001.000100",
    });
    expect(res.status).toBe(200);
    expect(actionsSeen).toContainEqual({
      action_id: "deny_request",
      value: "req_42",
      user: "U0BOB0001",
      channel: "C0APPROVAL",
    });
  });

  it("a view submission is acked; response_action errors come back in the HTTP body", async () => {
    const base = {
      user_id: "U0BOB0001",
      team_id: emu.teamId,
      callback_id: "deny_reason",
      private_metadata: "req_42",
    };
    const bad = await sendViewSubmission(eventsUrl, signingSecret, {
      ...base,
      values: { reason: { reason_input: { type: "plain_text_input", value: "no" } } },
    });
    expect(bad.status).toBe(200);
    expect(JSON.parse(bad.body)).toEqual({
      response_action: "errors",
      errors: { reason: "Give a reason" },
    });
    const good = await sendViewSubmission(eventsUrl, signingSecret, {
      ...base,
      values: { reason: { reason_input: { type: "plain_text_input", value: "wrong tenant" } } },
    });
    expect(good.status).toBe(200);
    expect(good.body).toBe("");
  });

  it("a bad signature is answered 401 with no body, and the handler is not run", async () => {
    const responseUrl = emu.responseUrl();
    const input = {
      text: "x",
      user_id: "U0ALICE01",
      team_id: emu.teamId,
      response_url: responseUrl,
    };
    const wrongSecret = await sendSlashCommand(eventsUrl, "not-the-secret", input);
    expect(wrongSecret).toMatchObject({ status: 401, body: "" });
    const forged = await sendSlashCommand(eventsUrl, signingSecret, input, {
      signature: "v0=deadbeef",
    });
    expect(forged.status).toBe(401);
    const noHeaders = await request(eventsUrl, {
      method: "POST",
      headers: { "content-type": FORM_CONTENT_TYPE },
      body: slashCommandBody(input),
    });
    expect(noHeaders.statusCode).toBe(401);
    await noHeaders.body.dump();
    expect(emu.responsesTo(responseUrl)).toEqual([]);
  });

  it("a correctly signed request older than 5 minutes is answered 401", async () => {
    const input = {
      text: "x",
      user_id: "U0ALICE01",
      team_id: emu.teamId,
      response_url: emu.responseUrl(),
    };
    const now = Math.floor(Date.now() / 1000);
    const stale = await sendSlashCommand(eventsUrl, signingSecret, input, {
      timestampSec: now - 301,
    });
    expect(stale.status).toBe(401);
    const recent = await sendSlashCommand(eventsUrl, signingSecret, input, {
      timestampSec: now - 240,
    });
    expect(recent.status).toBe(200);
  });

  it("(Bolt 5.1 behaviour) a timestamp in the future is NOT rejected", async () => {
    const input = {
      text: "x",
      user_id: "U0ALICE01",
      team_id: emu.teamId,
      response_url: emu.responseUrl(),
    };
    const future = Math.floor(Date.now() / 1000) + 3600;
    const res = await sendSlashCommand(eventsUrl, signingSecret, input, { timestampSec: future });
    expect(res.status).toBe(200);
  });

  it("a form body sent with '; charset=utf-8' is answered 400 (Bolt compares the type exactly)", async () => {
    const body = slashCommandBody({
      text: "x",
      user_id: "U0ALICE01",
      team_id: emu.teamId,
      response_url: emu.responseUrl(),
    });
    const res = await postSigned(
      eventsUrl,
      signingSecret,
      body,
      `${FORM_CONTENT_TYPE}; charset=utf-8`,
    );
    expect(res.status).toBe(400);
  });

  it("serves customRoutes next to /slack/events; other paths are 404", async () => {
    const health = await request(`${baseUrl}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.text()).toBe("ok");
    const missing = await request(`${baseUrl}/nope`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();
    // GET on the events path is not routed either
    const getEvents = await request(eventsUrl);
    expect(getEvents.statusCode).toBe(404);
    await getEvents.body.dump();
  });

  it("signSlackRequest produces what Bolt's own verifier accepts", async () => {
    const { verifySlackRequest } = await import("@slack/bolt");
    const raw = "a=1&b=two";
    const headers = signSlackRequest(signingSecret, raw, 1_700_000_000);
    expect(headers["x-slack-request-timestamp"]).toBe("1700000000");
    expect(() =>
      verifySlackRequest({
        signingSecret,
        body: raw,
        headers: {
          "x-slack-signature": headers["x-slack-signature"] as string,
          "x-slack-request-timestamp": 1_700_000_000,
        },
        nowMilliseconds: 1_700_000_000_000,
      }),
    ).not.toThrow();
  });
});
