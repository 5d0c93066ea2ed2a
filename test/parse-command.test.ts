import { describe, expect, it } from "vitest";
import { parseCommand } from "../src/slack/listeners/commands/subcommands.js";
import { escapeMrkdwn } from "../src/slack/views/text.js";

describe("reading /promote-connection", () => {
  it("takes an id or a name, then a reason with or without quotes", () => {
    expect(parseCommand('con_A1b2C3d4E5f6G7h8 "onboarding Acme"')).toMatchObject({
      name: "promote",
      args: { target: { kind: "id", id: "con_A1b2C3d4E5f6G7h8" }, reason: "onboarding Acme" },
    });
    expect(parseCommand("acme-db “curly quotes”")).toMatchObject({
      args: { target: { kind: "name", name: "acme-db" }, reason: "curly quotes" },
    });
    expect(parseCommand("demote acme-db")).toMatchObject({ name: "demote", args: { reason: "" } });
    expect(parseCommand("promote history")).toMatchObject({
      args: { target: { name: "history" } },
    });
  });

  it("reads the subcommands", () => {
    expect(parseCommand("")).toMatchObject({ name: "help" });
    expect(parseCommand("help")).toMatchObject({ name: "help" });
    expect(parseCommand("list")).toMatchObject({ name: "list", args: {} });
    expect(parseCommand("cancel req_7k3m9qxa2b")).toMatchObject({
      name: "cancel",
      args: { requestId: "req_7k3m9qxa2b" },
    });
    expect(parseCommand("status req_7k3m9qxa2b")).toMatchObject({
      name: "status",
      args: { target: { kind: "request", id: "req_7k3m9qxa2b" } },
    });
    expect(parseCommand("history")).toMatchObject({ name: "history", args: { target: undefined } });
  });

  it("refuses malformed ids and names before anything reaches Auth0", () => {
    for (const text of [
      "con_short",
      "con_../../clients",
      "a/b",
      "-leading-dash",
      "x".repeat(200),
    ]) {
      expect(parseCommand(text)).toHaveProperty("invalid");
    }
    expect(parseCommand("cancel nope")).toHaveProperty("invalid");
    expect(parseCommand("list everything")).toHaveProperty("invalid");
    expect(parseCommand(`acme-db ${"r".repeat(1001)}`)).toHaveProperty("invalid");
  });
});

describe("escaping what people type", () => {
  it("neutralises mentions, links and formatting", () => {
    const out = escapeMrkdwn("<!channel> @here <@U123> *b* <https://x|y> & @everyone");
    expect(out).not.toMatch(/<!channel>|<@U123>|<https:/);
    expect(out).not.toMatch(/(^|[^\u200b])@(here|everyone)/);
    expect(out).toContain("&amp;");
  });
});
