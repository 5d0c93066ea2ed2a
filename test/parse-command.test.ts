import { describe, expect, it } from "vitest";
import { parseCommand } from "../src/slack/parse-command.js";
import { escapeMrkdwn } from "../src/slack/views/text.js";

describe("reading /promote-connection", () => {
  it("takes an id or a name, then a reason with or without quotes", () => {
    expect(parseCommand('con_A1b2C3d4E5f6G7h8 "onboarding Acme"')).toEqual({
      kind: "change",
      action: "promote",
      connection: { kind: "id", id: "con_A1b2C3d4E5f6G7h8" },
      reason: "onboarding Acme",
    });
    expect(parseCommand("acme-db “curly quotes”")).toMatchObject({
      connection: { kind: "name", name: "acme-db" },
      reason: "curly quotes",
    });
    expect(parseCommand("demote acme-db")).toMatchObject({ action: "demote", reason: "" });
    expect(parseCommand("promote history")).toMatchObject({ connection: { name: "history" } });
  });

  it("reads the subcommands", () => {
    expect(parseCommand("")).toEqual({ kind: "help" });
    expect(parseCommand("help")).toEqual({ kind: "help" });
    expect(parseCommand("list")).toEqual({ kind: "list" });
    expect(parseCommand("cancel req_7k3m9qxa2b")).toEqual({
      kind: "cancel",
      requestId: "req_7k3m9qxa2b",
    });
    expect(parseCommand("status req_7k3m9qxa2b")).toEqual({
      kind: "status",
      target: { kind: "request", id: "req_7k3m9qxa2b" },
    });
    expect(parseCommand("history")).toEqual({ kind: "history", connection: undefined });
  });

  it("refuses malformed ids and names before anything reaches Auth0", () => {
    for (const text of [
      "con_short",
      "con_../../clients",
      "a/b",
      "-leading-dash",
      "x".repeat(200),
    ]) {
      expect(parseCommand(text).kind).toBe("invalid");
    }
    expect(parseCommand("cancel nope").kind).toBe("invalid");
    expect(parseCommand("list everything").kind).toBe("invalid");
    expect(parseCommand(`acme-db ${"r".repeat(1001)}`).kind).toBe("invalid");
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
