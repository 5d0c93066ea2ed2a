import { describe, expect, it } from "vitest";
import { RESERVED_TENANT_NAMES } from "../src/config-tenants.js";
import {
  parseCommand,
  requestFormFor,
  SUBCOMMAND_NAMES,
} from "../src/slack/listeners/commands/subcommands.js";
import { escapeMrkdwn } from "../src/slack/views/text.js";

/** One tenant: commands need not name it. */
const ONE = { tenants: ["default"] };
const TWO = { tenants: ["dev", "prod"] };

describe("reading /promote-connection", () => {
  it("takes an id or a name, then a reason with or without quotes", () => {
    expect(parseCommand('con_A1b2C3d4E5f6G7h8 "onboarding Acme"', ONE)).toMatchObject({
      name: "promote",
      args: { target: { kind: "id", id: "con_A1b2C3d4E5f6G7h8" }, reason: "onboarding Acme" },
    });
    expect(parseCommand("acme-db “curly quotes”", ONE)).toMatchObject({
      args: { target: { kind: "name", name: "acme-db" }, reason: "curly quotes" },
    });
    expect(parseCommand("demote acme-db", ONE)).toMatchObject({
      name: "demote",
      args: { reason: "" },
    });
    expect(parseCommand("promote history", ONE)).toMatchObject({
      args: { target: { name: "history" } },
    });
  });

  it("reads the subcommands", () => {
    expect(parseCommand("help", ONE)).toMatchObject({ name: "help" });
    expect(parseCommand("list", ONE)).toMatchObject({ name: "list", args: {} });
    expect(parseCommand("cancel req_7k3m9qxa2b", ONE)).toMatchObject({
      name: "cancel",
      args: { requestId: "req_7k3m9qxa2b" },
    });
    expect(parseCommand("status req_7k3m9qxa2b", ONE)).toMatchObject({
      name: "status",
      args: { target: { kind: "request", id: "req_7k3m9qxa2b" } },
    });
    expect(parseCommand("history", ONE)).toMatchObject({
      name: "history",
      args: { target: undefined },
    });
  });

  it("refuses malformed ids and names before anything reaches Auth0", () => {
    for (const text of [
      "con_short",
      "con_../../clients",
      "a/b",
      "-leading-dash",
      "x".repeat(200),
    ]) {
      expect(parseCommand(text, ONE)).toHaveProperty("invalid");
    }
    expect(parseCommand("cancel nope", ONE)).toHaveProperty("invalid");
    expect(parseCommand("list everything", ONE)).toHaveProperty("invalid");
    expect(parseCommand(`acme-db ${"r".repeat(1001)}`, ONE)).toHaveProperty("invalid");
  });
});

describe("with several tenants", () => {
  it("reads the tenant first; with one tenant it is optional", () => {
    expect(parseCommand('dev shared-sso "reason"', TWO)).toMatchObject({
      name: "promote",
      args: { tenant: "dev", target: { name: "shared-sso" }, reason: "reason" },
    });
    expect(parseCommand("demote prod shared-sso", TWO)).toMatchObject({
      name: "demote",
      args: { tenant: "prod", target: { name: "shared-sso" } },
    });
    expect(parseCommand("status prod shared-sso", TWO)).toMatchObject({
      args: { target: { tenant: "prod", name: "shared-sso" } },
    });
    expect(parseCommand("status req_7k3m9qxa2b", TWO)).toMatchObject({
      args: { target: { kind: "request" } },
    });
    expect(parseCommand("list prod", TWO)).toMatchObject({ args: { tenant: "prod" } });
    expect(parseCommand("list", TWO)).toMatchObject({ args: { tenant: undefined } });
    expect(parseCommand("history prod acme-db", TWO)).toMatchObject({
      args: { tenant: "prod", target: { name: "acme-db" } },
    });
    expect(parseCommand("default acme-db", ONE)).toMatchObject({
      args: { tenant: "default", target: { name: "acme-db" } },
    });
    expect(parseCommand("acme-db", ONE)).toMatchObject({ args: { tenant: "default" } });
  });

  it("a command that names no target opens the request form, with what it named picked", () => {
    expect(requestFormFor("", ONE)).toEqual({});
    expect(requestFormFor("  ", TWO)).toEqual({});
    expect(requestFormFor("demote", ONE)).toEqual({ action: "demote" });
    expect(requestFormFor("Promote", ONE)).toEqual({ action: "promote" });
    expect(requestFormFor("prod", TWO)).toEqual({ tenant: "prod" });
    expect(requestFormFor("demote prod", TWO)).toEqual({ tenant: "prod", action: "demote" });
    // A tenant's own change needs nothing more once the tenant is known: it is a whole command.
    expect(requestFormFor("enable-dcr", TWO)).toEqual({ action: "enable-dcr" });
    expect(requestFormFor("enable-dcr", ONE)).toBeUndefined();
    expect(requestFormFor("enable-dcr prod", TWO)).toBeUndefined();
    // With one tenant a lone word is a connection's name, even the tenant's; a target is a command.
    expect(requestFormFor("default", ONE)).toBeUndefined();
    for (const text of ["acme-db", "demote acme-db", "help", "list", "prod acme-db"]) {
      expect(requestFormFor(text, TWO)).toBeUndefined();
    }
  });

  it("a tenant whose policy requires a reason refuses a command without one, naming the policy", () => {
    const ctx = { tenants: ["dev", "prod"], reasonRequiredIn: ["prod"] };
    for (const text of ["prod acme-db", "demote prod acme-db", "enable-dcr prod"]) {
      const parsed = parseCommand(text, ctx);
      expect((parsed as { invalid: string }).invalid).toMatch(
        /Requests in prod need a reason \(the tenant's policy\)/,
      );
    }
    expect((parseCommand("demote prod acme-db", ctx) as { invalid: string }).invalid).toContain(
      '`/promote-connection demote prod acme-db "why it is needed"`',
    );
    expect(parseCommand('prod acme-db "onboarding"', ctx)).toMatchObject({ name: "promote" });
    expect(parseCommand("dev acme-db", ctx)).toMatchObject({ name: "promote" });
  });

  it("no tenant may be named like a subcommand", () => {
    expect([...RESERVED_TENANT_NAMES].sort()).toEqual([...SUBCOMMAND_NAMES].sort());
  });

  it("a command that names no tenant is answered with their names", () => {
    for (const text of ["shared-sso", "demote shared-sso", "status shared-sso"]) {
      const parsed = parseCommand(text, TWO);
      expect(parsed).toHaveProperty("invalid");
      expect((parsed as { invalid: string }).invalid).toMatch(/Which tenant\? .*`dev`, `prod`/);
    }
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
