import { describe, expect, it } from "vitest";
import {
  ConfigError,
  configWarnings,
  loadConfig,
  parseDuration,
  parseRate,
} from "../src/config.js";
import { startBotProcess } from "./support/child.js";

const GOOD = {
  SLACK_BOT_TOKEN: "xoxb-1-2-abc",
  SLACK_SIGNING_SECRET: "secret",
  APPROVAL_CHANNEL_ID: "C0APPROVE1",
  AUDIT_CHANNEL_ID: "C0AUDIT001",
  APPROVER_USER_IDS: "U0APPROVE1, U0APPROVE2",
  AUTH0_DOMAIN: "acme.us.auth0.com",
  AUTH0_CLIENT_ID: "client",
  AUTH0_CLIENT_SECRET: "client-secret",
};

function problems(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("configuration", () => {
  it("fills in the documented defaults", () => {
    const config = loadConfig(GOOD);
    // The AUTH0_* variables are one tenant, named "default".
    expect(config.tenants).toEqual([
      {
        name: "default",
        baseUrl: "https://acme.us.auth0.com",
        domain: "acme.us.auth0.com",
        audience: "https://acme.us.auth0.com/api/v2/",
        clientId: "client",
        credential: { kind: "secret", secret: "client-secret" },
        maxRequestsPerSecond: undefined,
        approvers: { userIds: ["U0APPROVE1", "U0APPROVE2"], usergroupId: undefined },
        requiredApprovals: 1,
        approvalChannelId: "C0APPROVE1",
        requestTtlMs: 24 * 3600_000,
        dryRun: false,
      },
    ]);
    expect(config.slack.apiUrl).toBe("https://slack.com/api/");
    expect(config.redis.url).toBe("redis://127.0.0.1:6379");
    expect(config.port).toBe(3000);
    expect(config.policy).toEqual({
      maxOpenRequestsPerUser: 5,
      userRateLimit: { limit: 20, windowMs: 60_000 },
      allowedTeamIds: [],
      refusedAuditWindowMs: 10 * 60_000,
    });
    expect(config.requestRetentionMs).toBe(90 * 24 * 3600_000);
  });

  it("names every missing or malformed variable, one line each", () => {
    const lines = problems({
      SLACK_BOT_TOKEN: "xoxp-user-token",
      AUDIT_CHANNEL_ID: "general",
      AUTH0_DOMAIN: "http://acme.us.auth0.com",
      REQUEST_TTL: "tomorrow",
      DRY_RUN: "maybe",
      PORT: "eighty",
    });
    const named = (v: string) => lines.find((l) => l.startsWith(`${v} `));
    expect(named("SLACK_BOT_TOKEN")).toMatch(/xoxb-/);
    expect(named("APPROVAL_CHANNEL_ID")).toMatch(/required/);
    expect(named("AUDIT_CHANNEL_ID")).toMatch(/channel id/);
    expect(named("AUTH0_DOMAIN")).toMatch(/https/);
    expect(named("AUTH0_CLIENT_ID")).toMatch(/required/);
    expect(named("AUTH0_CLIENT_SECRET")).toMatch(/required/);
    expect(named("SLACK_SIGNING_SECRET")).toMatch(/SLACK_APP_TOKEN/);
    expect(named("APPROVER_USER_IDS")).toMatch(/APPROVER_USERGROUP_ID/);
    expect(named("REQUEST_TTL")).toMatch(/24h/);
    expect(named("DRY_RUN")).toMatch(/true or false/);
    expect(named("PORT")).toBeDefined();
  });

  it("accepts http:// only for loopback emulators", () => {
    expect(loadConfig({ ...GOOD, AUTH0_DOMAIN: "http://127.0.0.1:4000" }).tenants[0]?.baseUrl).toBe(
      "http://127.0.0.1:4000",
    );
    expect(loadConfig({ ...GOOD, SLACK_API_URL: "http://localhost:5000/api" }).slack.apiUrl).toBe(
      "http://localhost:5000/api/",
    );
    expect(problems({ ...GOOD, SLACK_API_URL: "http://10.0.0.5/api/" })[0]).toMatch(
      /^SLACK_API_URL .*https/,
    );
  });

  it("refuses a quorum larger than the approvers who could meet it", () => {
    expect(problems({ ...GOOD, REQUIRED_APPROVALS: "3" })[0]).toMatch(
      /^REQUIRED_APPROVALS .*only 2/,
    );
  });

  it("serves /metrics and /readyz on an address of their own only when METRICS_PORT is set", () => {
    expect(loadConfig(GOOD).metricsListen).toBeUndefined();
    // Loopback unless told otherwise: the point is that they are not public.
    expect(loadConfig({ ...GOOD, METRICS_PORT: "9464" }).metricsListen).toEqual({
      port: 9464,
      host: "127.0.0.1",
    });
    expect(
      loadConfig({ ...GOOD, METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0" }).metricsListen,
    ).toEqual({ port: 9464, host: "0.0.0.0" });
    expect(
      loadConfig({ ...GOOD, METRICS_PORT: "9464", METRICS_HOST: "::" }).metricsListen?.host,
    ).toBe("::");

    expect(problems({ ...GOOD, METRICS_PORT: "metrics" })).toEqual([
      "METRICS_PORT must be a port number",
    ]);
    expect(problems({ ...GOOD, PORT: "8080", METRICS_PORT: "8080" })).toEqual([
      "METRICS_PORT must differ from PORT (8080): it is what keeps /metrics and /readyz off Slack's port",
    ]);
    expect(problems({ ...GOOD, METRICS_HOST: "0.0.0.0" })).toEqual([
      "METRICS_HOST has no effect without METRICS_PORT: set METRICS_PORT too, or remove METRICS_HOST",
    ]);
    expect(problems({ ...GOOD, METRICS_PORT: "9464", METRICS_HOST: "http://10.0.0.1/" })).toEqual([
      "METRICS_HOST must be an address to listen on, such as 127.0.0.1, 0.0.0.0 or ::",
    ]);
  });

  it("a REDIS_URL that does not parse is refused without printing it (it may hold a password)", () => {
    const lines = problems({ ...GOOD, REDIS_URL: "redis://:s3cret/with#slash@redis:6379" });
    expect(lines).toEqual([
      "REDIS_URL is not a valid URL: characters such as / ? # @ : % in a password must be percent-encoded",
    ]);
    expect(loadConfig({ ...GOOD, REDIS_URL: "redis://:abc123@redis:6379" }).redis.url).toBe(
      "redis://:abc123@redis:6379",
    );
  });

  it("reads durations", () => {
    expect(parseDuration("45s")).toBe(45_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2d")).toBe(172_800_000);
    expect(parseDuration("10")).toBeUndefined();
    expect(parseDuration("0s")).toBeUndefined();
  });

  it("reads a per-person rate limit as a count per duration", () => {
    expect(parseRate("20/1m")).toEqual({ limit: 20, windowMs: 60_000 });
    expect(parseRate(" 5 / 10s ")).toEqual({ limit: 5, windowMs: 10_000 });
    for (const bad of ["20", "0/1m", "20/m", "-1/1m", "twenty/1m", "20/1m/2"]) {
      expect(parseRate(bad), bad).toBeUndefined();
    }
    expect(loadConfig({ ...GOOD, USER_RATE_LIMIT: "3/1s" }).policy.userRateLimit).toEqual({
      limit: 3,
      windowMs: 1_000,
    });
    expect(problems({ ...GOOD, USER_RATE_LIMIT: "lots" })[0]).toMatch(/^USER_RATE_LIMIT .*20\/1m/);
  });

  it("npm start with a bad environment prints one line per problem and exits 1", async () => {
    const bot = await startBotProcess([], {
      REDIS_URL: "redis://127.0.0.1:1",
      SLACK_BOT_TOKEN: "nope",
    });
    expect(await bot.exited()).toBe(1);
    const out = bot.output();
    expect(out).toMatch(/cannot start/);
    expect(out).toMatch(/✗ SLACK_BOT_TOKEN must start with xoxb-/);
    expect(out).toMatch(/✗ AUTH0_DOMAIN is required/);
    expect(out).not.toMatch(/at .*\.js:\d+/); // no stack trace
  });

  it("a quorum that an approver's own request could never reach is warned about at start", async () => {
    expect(configWarnings(loadConfig({ ...GOOD, REQUIRED_APPROVALS: "2" }))).toEqual([
      expect.objectContaining({ text: expect.stringMatching(/could never pass/) }),
    ]);
    expect(configWarnings(loadConfig(GOOD))).toEqual([]);
    expect(
      configWarnings(
        loadConfig({ ...GOOD, REQUIRED_APPROVALS: "2", APPROVER_USERGROUP_ID: "S0G" }),
      ),
    ).toEqual([]);
    const bot = await startBotProcess([], {
      ...GOOD,
      REQUIRED_APPROVALS: "2",
      REDIS_URL: "redis://127.0.0.1:1",
    });
    await bot.exited();
    expect(bot.output()).toMatch(/REQUIRED_APPROVALS is 2 and APPROVER_USER_IDS lists exactly 2/);
  });
});
