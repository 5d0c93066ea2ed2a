import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postSigned, sendSlashCommand } from "./support/slack-requests.js";
import { ACME, REQUESTER, SIGNING_SECRET, type Stack, startStack } from "./support/stack.js";

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
