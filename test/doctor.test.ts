import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { doctorMain, runDoctor } from "../src/doctor/index.js";
import { AuditLog } from "../src/requests/audit-log.js";
import { type Auth0Emulator, startAuth0Emulator } from "./support/auth0-emulator.js";
import { keyDirectory, rsaKeyPair } from "./support/private-keys.js";
import { freePort, type RedisServer, startRedisServer } from "./support/redis-server.js";
import { type SlackEmulator, startSlackEmulator } from "./support/slack-emulator.js";

const APPROVALS = "CAPPROVALS";
const AUDIT = "CAUDITLOG1";
const SIGNING_SECRET = "doctor-signing-secret-5e1d";
const REDIS_PASSWORD = "doctor-redis-pass-77c1";

let goodRedis: RedisServer;
let slack: SlackEmulator;
let auth0: Auth0Emulator;

beforeAll(async () => {
  // What production needs: nothing evicted, every write kept; and a password, to check that it
  // is never printed.
  goodRedis = await startRedisServer([
    "--maxmemory-policy",
    "noeviction",
    "--appendonly",
    "yes",
    "--requirepass",
    REDIS_PASSWORD,
  ]);
});
afterAll(async () => {
  await goodRedis?.stop();
});

beforeEach(async () => {
  slack = await startSlackEmulator({ teamId: "T0TEST001" });
  auth0 = await startAuth0Emulator();
});
afterEach(async () => {
  await slack.close();
  await auth0.close();
});

function envFor(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    APPROVAL_CHANNEL_ID: APPROVALS,
    AUDIT_CHANNEL_ID: AUDIT,
    APPROVER_USER_IDS: "UAPPROVER1",
    AUTH0_DOMAIN: auth0.url,
    AUTH0_CLIENT_ID: auth0.clientId,
    AUTH0_CLIENT_SECRET: auth0.clientSecret,
    REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${goodRedis.port}`,
    ...overrides,
  };
}

interface Report {
  code: number;
  lines: string[];
  text: string;
  ms: number;
}

async function doctor(env: NodeJS.ProcessEnv, timeoutMs = 2_000): Promise<Report> {
  const lines: string[] = [];
  const started = Date.now();
  const code = await doctorMain(env, (line) => lines.push(line), { timeoutMs });
  return { code, lines, text: lines.join("\n"), ms: Date.now() - started };
}

/** The line that starts with `symbol name:` (or with `symbol name` when name holds a colon). */
function line(report: Report, symbol: string, name: string): string {
  const prefix = name.includes(":") ? `${symbol} ${name}` : `${symbol} ${name}:`;
  const found = report.lines.find((l) => l.startsWith(prefix));
  if (!found) throw new Error(`no "${symbol} ${name}:" line in:\n${report.text}`);
  return found;
}

/** The `fix:` line printed under the line that starts with `symbol name:`. */
function fixOf(report: Report, symbol: string, name: string): string {
  const at = report.lines.indexOf(line(report, symbol, name));
  const next = report.lines[at + 1] ?? "";
  if (!next.startsWith("    fix: ")) throw new Error(`no fix under "${name}" in:\n${report.text}`);
  return next.slice("    fix: ".length);
}

function expectNoSecrets(report: Report, ...more: string[]): void {
  for (const secret of [
    slack.botToken,
    SIGNING_SECRET,
    auth0.clientSecret,
    REDIS_PASSWORD,
    ...more,
  ]) {
    expect(report.text).not.toContain(secret);
  }
  // No access token either (Auth0's are JWTs).
  expect(report.text).not.toMatch(/eyJ[A-Za-z0-9_-]{5,}/);
}

describe("npm run doctor", () => {
  it("several tenants: one section each, and a broken tenant is named and fails the run", async () => {
    const prod = await auth0.addTenant("prod");
    const dir = mkdtempSync(join(tmpdir(), "doctor-tenants-"));
    const file = join(dir, "tenants.yaml");
    writeFileSync(
      file,
      [
        "tenants:",
        "  - name: dev",
        `    domain: ${auth0.url}`,
        `    clientId: ${auth0.clientId}`,
        `    clientSecret: ${auth0.clientSecret}`,
        "  - name: prod",
        `    domain: ${prod.url}`,
        `    clientId: ${prod.clientId}`,
        "    clientSecret: not-the-prod-secret",
        "",
      ].join("\n"),
    );
    try {
      const report = await doctor(envFor({ TENANTS_FILE: file }));
      expect(report.code).toBe(1);
      expect(line(report, "✓", "Configuration")).toContain("tenants: dev (");
      line(report, "✓", "dev: Auth0 token");
      line(report, "✓", "dev: Dynamic Client Registration");
      expect(line(report, "✗", "prod: Auth0 token")).toContain("client credentials");
      expect(fixOf(report, "✗", "prod: Auth0 token")).toContain(
        `clientSecret of tenant prod in ${file}`,
      );
      expect(line(report, "-", "prod: Dynamic Client Registration")).toContain("skipped");
      expect(report.text).not.toContain("not-the-prod-secret");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a quorum an approver's own request could never reach: ! with the fix", async () => {
    const report = await doctor(
      envFor({ APPROVER_USER_IDS: "UAPPROVER1,UAPPROVER2", REQUIRED_APPROVALS: "2" }),
    );
    expect(line(report, "!", "Configuration")).toContain("could never pass");
    expect(fixOf(report, "!", "Configuration")).toMatch(/add an approver/);
  });

  it("an audit relay held by Slack: ✗ saying why, since when, how many lines wait, and the fix", async () => {
    const redis = new Redis(`redis://:${REDIS_PASSWORD}@127.0.0.1:${goodRedis.port}`);
    const prefix = `doctor-${Date.now()}`;
    try {
      const log = new AuditLog(redis, prefix, 100);
      await log.initCursor();
      for (const event of ["approved", "promoted"]) {
        await redis.xadd(`${prefix}:audit`, "*", "event", event, "requestId", "req_0000000001");
      }
      await log.hold("not_in_channel", "0-1", Date.UTC(2026, 10, 29, 12));
      const report = await doctor(envFor({ REDIS_PREFIX: prefix }));
      expect(report.code).toBe(1);
      expect(line(report, "✗", "Audit relay")).toBe(
        `✗ Audit relay: held since 2026-11-29T12:00:00.000Z: Slack answers not_in_channel when posting to <#${AUDIT}>; 2 line(s) wait, the oldest for ${line(report, "✗", "Audit relay").match(/oldest for (\d+) s/)?.[1]} s; none is lost`,
      );
      expect(fixOf(report, "✗", "Audit relay")).toMatch(/^invite the bot to the audit channel/);
      await log.clearHold();
      const after = await doctor(envFor({ REDIS_PREFIX: prefix }));
      expect(line(after, "✓", "Audit relay")).toContain("lines are flowing; 2 line(s) wait");
    } finally {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it("everything is in place: every line is ✓ and the exit code is 0", async () => {
    const report = await doctor(envFor());

    expect(report.code).toBe(0);
    const checks = report.lines.slice(0, -1);
    expect(checks.every((l) => l.startsWith("✓ "))).toBe(true);
    expect(checks.map((l) => l.slice(2, l.indexOf(": ")))).toEqual([
      "Configuration",
      "Redis",
      "Redis eviction policy",
      "Redis persistence",
      "Audit relay",
      "Slack",
      "Slack approvals channel",
      "Slack audit channel",
      "Auth0 token",
      "Auth0 scope read:connections",
      "Auth0 scope update:connections",
      "Auth0 scope read:tenant_settings",
      "Auth0 scope update:tenant_settings",
      "Auth0 scope read:clients",
      "Dynamic Client Registration",
    ]);
    expect(line(report, "✓", "Configuration")).toContain("HTTP mode");
    expect(line(report, "✓", "Redis")).toContain(
      `reachable at redis://:***@127.0.0.1:${goodRedis.port}`,
    );
    expect(line(report, "✓", "Redis eviction policy")).toContain("noeviction");
    expect(line(report, "✓", "Redis persistence")).toContain("appendonly yes");
    expect(line(report, "✓", "Slack")).toContain("bot @promote-connection (UBOT00001)");
    expect(line(report, "✓", "Slack audit channel")).toContain(
      "the bot is a member of #channel-cauditlog1 (CAUDITLOG1)",
    );
    expect(line(report, "✓", "Dynamic Client Registration")).toContain(
      "on: promoted connections reach third-party apps",
    );
    expect(report.lines.at(-1)).toBe("All 15 checks passed: promote-connection is ready to run.");
    expectNoSecrets(report);
    // It only looks: nothing is posted to Slack, nothing changed in Auth0.
    expect(slack.callsTo("chat.postMessage")).toHaveLength(0);
    expect(auth0.requests.filter((r) => r.method === "PATCH")).toHaveLength(0);
  });

  it("a missing and a malformed variable: one ✗ line each, naming it; nothing else is tried", async () => {
    const report = await doctor(
      envFor({ AUTH0_CLIENT_ID: undefined, REDIS_URL: "http://127.0.0.1:6379" }),
    );

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Configuration: AUTH0_CLIENT_ID")).toContain("is required");
    expect(fixOf(report, "✗", "Configuration: AUTH0_CLIENT_ID")).toBe(
      "set AUTH0_CLIENT_ID in the environment or in .env (see .env.example)",
    );
    expect(line(report, "✗", "Configuration: REDIS_URL")).toContain(
      "REDIS_URL must start with redis:// or rediss://",
    );
    expect(line(report, "-", "Redis")).toContain("skipped: the configuration is invalid");
    expect(line(report, "-", "Slack")).toContain("skipped");
    expect(line(report, "-", "Auth0 token")).toContain("skipped");
    expect(report.lines.at(-1)).toMatch(/2 failed.*fix the ✗ lines above/);
    expect(slack.calls).toHaveLength(0);
    expect(auth0.requests).toHaveLength(0);
    expectNoSecrets(report);
  });

  it("Redis is not running: ✗ with the fix, its other checks skipped, the rest still checked, in seconds", async () => {
    const closedPort = await freePort();
    const report = await doctor(envFor({ REDIS_URL: `redis://127.0.0.1:${closedPort}` }));

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Redis")).toBe(
      `✗ Redis: not reachable at redis://127.0.0.1:${closedPort}: the connection was refused`,
    );
    expect(fixOf(report, "✗", "Redis")).toBe(
      "start Redis, or set REDIS_URL to a Redis this host can reach",
    );
    expect(line(report, "-", "Redis eviction policy")).toBe(
      "- Redis eviction policy: skipped: Redis is not reachable",
    );
    expect(line(report, "-", "Redis persistence")).toContain("Redis is not reachable");
    line(report, "✓", "Slack");
    line(report, "✓", "Auth0 token");
    // Generous on a busy machine; a Redis client retrying for ever would never return.
    expect(report.ms).toBeLessThan(10_000);
  });

  it("a wrong Redis password: ✗ saying so, with where the password goes, never printed", async () => {
    const wrongPassword = "not-the-redis-pass-31f0";
    const report = await doctor(
      envFor({ REDIS_URL: `redis://:${wrongPassword}@127.0.0.1:${goodRedis.port}` }),
    );

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Redis")).toMatch(
      new RegExp(
        `^✗ Redis: not reachable at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${goodRedis.port}: WRONGPASS`,
      ),
    );
    expect(fixOf(report, "✗", "Redis")).toBe(
      "put the right user and password in REDIS_URL (redis://user:password@host:6379)",
    );
    expectNoSecrets(report, wrongPassword);
  });

  it("REDIS_URL points at something that is not Redis: ✗ saying so", async () => {
    const notRedis = new URL(auth0.url);
    const report = await doctor(envFor({ REDIS_URL: `redis://${notRedis.host}` }));

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Redis")).toBe(
      `✗ Redis: not reachable at redis://${notRedis.host}: something that is not Redis answered there (check the host and port)`,
    );
    expect(fixOf(report, "✗", "Redis")).toBe(
      "start Redis, or set REDIS_URL to a Redis this host can reach",
    );
  });

  it("a Redis that evicts keys and keeps nothing on disk: ✗ for each, with the setting to change", async () => {
    const bad = await startRedisServer(["--maxmemory-policy", "allkeys-lru", "--appendonly", "no"]);
    try {
      const report = await doctor(envFor({ REDIS_URL: `redis://127.0.0.1:${bad.port}` }));

      expect(report.code).toBe(1);
      line(report, "✓", "Redis");
      expect(line(report, "✗", "Redis eviction policy")).toContain(
        "maxmemory-policy is allkeys-lru",
      );
      expect(fixOf(report, "✗", "Redis eviction policy")).toBe(
        "set maxmemory-policy noeviction (BullMQ needs it)",
      );
      expect(line(report, "✗", "Redis persistence")).toContain("off (no AOF, no RDB snapshots)");
      expect(fixOf(report, "✗", "Redis persistence")).toMatch(/^appendonly yes/);
    } finally {
      await bad.stop();
    }
  });

  it("RDB snapshots count as persistence; a Redis that forbids CONFIG (managed) is a warning, not a failure", async () => {
    const rdb = await startRedisServer(["--save", "3600 1", "--maxmemory-policy", "noeviction"]);
    const managed = await startRedisServer([
      "--maxmemory-policy",
      "noeviction",
      "--rename-command",
      "CONFIG",
      "",
    ]);
    try {
      const snapshots = await doctor(envFor({ REDIS_URL: `redis://127.0.0.1:${rdb.port}` }));
      expect(line(snapshots, "✓", "Redis persistence")).toContain("RDB snapshots: save 3600 1");

      const report = await doctor(envFor({ REDIS_URL: `redis://127.0.0.1:${managed.port}` }));
      expect(report.code).toBe(0);
      line(report, "✓", "Redis eviction policy");
      expect(line(report, "!", "Redis persistence")).toContain("could not tell");
    } finally {
      await rdb.stop();
      await managed.stop();
    }
  });

  it("Slack refuses the bot token: ✗ auth.test failed (invalid_auth), channel checks skipped", async () => {
    const wrongToken = "xoxb-0000-wrong-token-a1b2c3";
    const report = await doctor(envFor({ SLACK_BOT_TOKEN: wrongToken }));

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Slack")).toBe("✗ Slack: auth.test failed (invalid_auth)");
    expect(fixOf(report, "✗", "Slack")).toMatch(
      /^check SLACK_BOT_TOKEN: copy the Bot User OAuth Token/,
    );
    expect(line(report, "-", "Slack approvals channel")).toContain(
      "skipped: Slack refused the bot token",
    );
    expect(line(report, "-", "Slack audit channel")).toContain("skipped");
    expect(slack.callsTo("conversations.info")).toHaveLength(0);
    expectNoSecrets(report, wrongToken);
  });

  it("the bot was never invited to the audit channel: ✗ with the /invite to type", async () => {
    slack.setChannelMembership(AUDIT, false);
    const report = await doctor(envFor());

    expect(report.code).toBe(1);
    line(report, "✓", "Slack approvals channel");
    expect(line(report, "✗", "Slack audit channel")).toBe(
      "✗ Slack audit channel: the bot is not a member of #channel-cauditlog1 (CAUDITLOG1), so it cannot post there",
    );
    expect(fixOf(report, "✗", "Slack audit channel")).toBe(
      "invite the bot: type /invite @promote-connection in #channel-cauditlog1 (CAUDITLOG1)",
    );
    expect(slack.callsTo("chat.postMessage")).toHaveLength(0);
  });

  it("one channel for approvals and audit is checked once", async () => {
    const report = await doctor(envFor({ AUDIT_CHANNEL_ID: APPROVALS }));

    expect(report.code).toBe(0);
    line(report, "✓", "Slack approvals and audit channel");
    expect(slack.callsTo("conversations.info")).toHaveLength(1);
  });

  it("the Slack app lacks channels:read: ✗ naming the scope the manifest must add", async () => {
    slack.failNext("conversations.info", { error: "missing_scope", times: 2 });
    const report = await doctor(envFor());

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Slack approvals channel")).toContain(
      "conversations.info failed (missing_scope): the Slack app lacks the channels:read scope",
    );
    expect(fixOf(report, "✗", "Slack audit channel")).toContain(
      "add the channels:read bot scope (channels:read for public channels, groups:read for private ones) to oauth_config.scopes.bot in manifest.json",
    );
  });

  it("a wrong Auth0 client secret: ✗ in words, the secret never printed", async () => {
    const wrongSecret = "wrong-client-secret-9d8c7b6a";
    const report = await doctor(envFor({ AUTH0_CLIENT_SECRET: wrongSecret }));

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Auth0 token")).toBe(
      "✗ Auth0 token: Auth0 rejected the client credentials (check AUTH0_CLIENT_ID / AUTH0_CLIENT_SECRET)",
    );
    expect(fixOf(report, "✗", "Auth0 token")).toContain(
      "check AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET: Auth0 Dashboard → Applications",
    );
    expect(line(report, "-", "Auth0 scope update:connections")).toContain(
      "no Management API token",
    );
    expect(line(report, "-", "Dynamic Client Registration")).toContain("skipped");
    expectNoSecrets(report, wrongSecret);
  });

  describe("each way Auth0 can refuse the token names where to fix it", () => {
    const app = () => `the application with client id ${auth0.clientId}`;
    const cases: Array<{
      story: string;
      arrange: () => Record<string, string>;
      detail: (a: Auth0Emulator) => string;
      fix: (a: Auth0Emulator) => string;
    }> = [
      {
        story: "the application is not authorized for the Management API",
        arrange: () => {
          auth0.setClientGrant(false);
          return {};
        },
        detail: (a) =>
          `the Auth0 application is not authorized for ${a.audience} (authorize it under APIs → Auth0 Management API → Machine to Machine Applications)`,
        fix: () =>
          `Auth0 Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications → authorize ${app()}`,
      },
      {
        story: "the application may not use the Client Credentials grant",
        arrange: () => {
          auth0.setGrantTypes(["authorization_code"]);
          return {};
        },
        detail: () =>
          "the Auth0 application may not use the Client Credentials grant (enable it under Applications → the application → Advanced Settings → Grant Types)",
        fix: () =>
          `Auth0 Dashboard → Applications → Applications → ${app()} → Advanced Settings → Grant Types → tick Client Credentials`,
      },
      {
        story: "AUTH0_AUDIENCE names an API the tenant does not have",
        arrange: () => ({ AUTH0_AUDIENCE: `${auth0.url}/api/v1/` }),
        detail: (a) =>
          `Auth0 refused the audience ${a.url}/api/v1/: no API with that identifier exists in this tenant (check AUTH0_AUDIENCE; the Management API's is https://TENANT-DOMAIN/api/v2/ with the trailing slash)`,
        fix: (a) =>
          `set AUTH0_AUDIENCE to the Management API identifier ${a.url}/api/v2/ (trailing slash included), or leave it unset`,
      },
      {
        story: "AUTH0_DOMAIN is a custom domain whose discovery names another issuer",
        arrange: () => {
          auth0.setIssuer("https://acme.us.auth0.com/");
          return {};
        },
        detail: (a) =>
          `the OpenID configuration at ${new URL(a.url).host} names a different issuer (check AUTH0_DOMAIN: use the tenant's canonical domain)`,
        fix: () =>
          "set AUTH0_DOMAIN to the tenant's canonical domain (…auth0.com), not a custom domain",
      },
      {
        story: "Auth0 is limiting token requests",
        arrange: () => {
          auth0.injectFault({ path: "/oauth/token", kind: "ratelimit" });
          return {};
        },
        detail: () => "Auth0 is limiting token requests; try again shortly",
        fix: () => "try again shortly; if it persists, see https://status.auth0.com",
      },
      {
        story: "Auth0 answers 503",
        arrange: () => {
          auth0.injectFault({ path: "/oauth/token", kind: "status", status: 503 });
          return {};
        },
        detail: () => "Auth0 answered 503 Service Unavailable when asked for a token",
        fix: () => "try again shortly; if it persists, see https://status.auth0.com",
      },
      {
        story: "something that is not Auth0 answers with a web page",
        arrange: () => {
          auth0.injectFault({ path: "/.well-known/openid-configuration", kind: "html" });
          return {};
        },
        detail: () =>
          "Auth0 answered with something that is not JSON when asked for Auth0's OpenID configuration",
        fix: () => "check AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and AUTH0_AUDIENCE",
      },
    ];
    it.each(cases)("$story", async ({ arrange, detail, fix }) => {
      const report = await doctor(envFor(arrange()));

      expect(report.code).toBe(1);
      expect(line(report, "✗", "Auth0 token")).toBe(`✗ Auth0 token: ${detail(auth0)}`);
      expect(fixOf(report, "✗", "Auth0 token")).toBe(fix(auth0));
      expect(line(report, "-", "Dynamic Client Registration")).toContain("no Management API token");
      expectNoSecrets(report);
    });
  });

  it("the Auth0 application lacks update:connections: ✗ naming it and where to tick it", async () => {
    auth0.setScopes(["read:connections", "read:tenant_settings"]);
    const report = await doctor(envFor());

    expect(report.code).toBe(1);
    line(report, "✓", "Auth0 scope read:connections");
    expect(line(report, "✗", "Auth0 scope update:connections")).toBe(
      "✗ Auth0 scope update:connections: the token lacks update:connections, needed for the PATCH that promotes",
    );
    expect(fixOf(report, "✗", "Auth0 scope update:connections")).toBe(
      "Auth0 Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications → " +
        `the application with client id ${auth0.clientId} → tick update:connections`,
    );
  });

  it("without read:tenant_settings the doctor warns and still exits 0", async () => {
    auth0.setScopes([
      "read:connections",
      "update:connections",
      "update:tenant_settings",
      "read:clients",
    ]);
    const report = await doctor(envFor());

    expect(report.code).toBe(0);
    expect(line(report, "!", "Auth0 scope read:tenant_settings")).toContain(
      "the bot cannot tell whether Dynamic Client Registration is on",
    );
    expect(line(report, "-", "Dynamic Client Registration")).toContain(
      "skipped: the token lacks read:tenant_settings",
    );
    expect(report.lines.at(-1)).toMatch(/0 failed, 1 warning, 1 skipped/);
    expect(auth0.apiRequests("GET", "/api/v2/tenants")).toHaveLength(0);
  });

  it("without read:clients: a warning naming the scope and what approvers miss, exit 0", async () => {
    auth0.setScopes([
      "read:connections",
      "update:connections",
      "read:tenant_settings",
      "update:tenant_settings",
    ]);
    const report = await doctor(envFor());

    expect(report.code).toBe(0);
    expect(line(report, "!", "Auth0 scope read:clients")).toBe(
      "! Auth0 scope read:clients: the token lacks read:clients, so approval messages will say that the third-party applications a change affects could not be read",
    );
    expect(fixOf(report, "!", "Auth0 scope read:clients")).toBe(
      "Auth0 Dashboard → Applications → APIs → Auth0 Management API → Machine to Machine Applications → " +
        `the application with client id ${auth0.clientId} → tick read:clients`,
    );
    expect(report.lines.at(-1)).toMatch(/0 failed, 1 warning, 0 skipped/);
  });

  it("without update:tenant_settings: a warning that DCR changes would fail, exit 0", async () => {
    auth0.setScopes(["read:connections", "update:connections", "read:tenant_settings"]);
    const report = await doctor(envFor());
    expect(report.code).toBe(0);
    expect(line(report, "!", "Auth0 scope update:tenant_settings")).toContain(
      "approved enable-dcr and disable-dcr requests would fail",
    );
  });

  it("Dynamic Client Registration off: a warning that third-party apps will not see the connection, exit 0", async () => {
    auth0.setDynamicClientRegistration(false);
    const report = await doctor(envFor());

    expect(report.code).toBe(0);
    expect(line(report, "!", "Dynamic Client Registration")).toBe(
      "! Dynamic Client Registration: off: promotion will not make connections available to third-party (dynamically registered) applications",
    );
    expect(report.lines.at(-1)).toMatch(/promote-connection can run; read the ! lines above/);
  });

  it("Auth0 and Slack that never answer: ✗ after the timeout, not a hang", async () => {
    auth0.injectFault({
      path: "/.well-known/openid-configuration",
      kind: "delay",
      delayMs: 20_000,
    });
    const closedPort = await freePort();
    const report = await doctor(
      envFor({ SLACK_API_URL: `http://127.0.0.1:${closedPort}/api/` }),
      1_000,
    );

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Auth0 token")).toContain("timed out after 1000 ms");
    expect(fixOf(report, "✗", "Auth0 token")).toContain("check AUTH0_DOMAIN");
    expect(line(report, "✗", "Slack")).toContain(
      `auth.test failed: could not reach Slack at 127.0.0.1:${closedPort}: the connection was refused`,
    );
    // Generous on a busy machine, yet far from the 20 s the answers would take.
    expect(report.ms).toBeLessThan(10_000);
  });

  it("runDoctor gives the results as data", async () => {
    auth0.setDynamicClientRegistration(false);
    const results = await runDoctor(envFor(), { timeoutMs: 2_000 });
    expect(results.find((r) => r.name === "Dynamic Client Registration")).toMatchObject({
      status: "warn",
    });
    expect(results.filter((r) => r.status === "fail")).toEqual([]);
  });
});

describe("npm run doctor with a private key (private_key_jwt)", () => {
  const keys = keyDirectory();
  const pair = rsaKeyPair();
  const keyFile = keys.write("bot.pem", pair.pem);
  afterAll(() => keys.remove());

  /** The application authenticates by its registered key; the bot is given the key file. */
  function keyEnv(more: Record<string, string> = {}): NodeJS.ProcessEnv {
    return envFor({
      AUTH0_CLIENT_SECRET: "",
      AUTH0_PRIVATE_KEY_FILE: keyFile,
      AUTH0_PRIVATE_KEY_ID: "kid-bot",
      AUTH0_CLIENT_ASSERTION_ALG: "PS256",
      ...more,
    });
  }
  const app = () => `the application with client id ${auth0.clientId}`;
  const REGISTER = () =>
    `register the public half of AUTH0_PRIVATE_KEY_FILE with ${app()}: Auth0 Dashboard → Applications → Applications → ${app()} → Credentials → Add New Key (RS256, RS384 or PS256); ` +
    "set AUTH0_PRIVATE_KEY_ID to the key id Auth0 shows for it, or leave it unset; and check that AUTH0_PRIVATE_KEY_FILE is that key's private half";

  it("a registered key: ✓ Auth0 token, saying which credential got it", async () => {
    auth0.registerClientKey({ publicKey: pair.publicKey, alg: "PS256", keyId: "kid-bot" });
    const report = await doctor(keyEnv());

    expect(report.code).toBe(0);
    expect(line(report, "✓", "Auth0 token")).toBe(
      `✓ Auth0 token: got a Management API token from ${new URL(auth0.url).host} for ${auth0.audience} with a private key (private_key_jwt, PS256, kid kid-bot)`,
    );
    line(report, "✓", "Auth0 scope update:connections");
    expectNoSecrets(report, pair.fingerprint);
  });

  const refusals: Array<{ story: string; arrange: () => Record<string, string>; said: RegExp }> = [
    { story: "no key registered with the application", arrange: () => ({}), said: /no credential/ },
    {
      story: "another key registered",
      arrange: () => {
        auth0.registerClientKey({
          publicKey: rsaKeyPair().publicKey,
          alg: "PS256",
          keyId: "kid-bot",
        });
        return {};
      },
      said: /signature/,
    },
    {
      story: "a key id Auth0 does not know",
      arrange: () => {
        auth0.registerClientKey({ publicKey: pair.publicKey, alg: "PS256", keyId: "kid-new" });
        return {};
      },
      said: /kid 'kid-bot'/,
    },
    {
      story: "the key registered for another algorithm",
      arrange: () => {
        auth0.registerClientKey({ publicKey: pair.publicKey, alg: "RS256", keyId: "kid-bot" });
        return {};
      },
      said: /alg 'PS256'/,
    },
  ];
  it.each(refusals)(
    "$story: ✗ Auth0 token, and the fix says to register the key",
    async ({ arrange, said }) => {
      const report = await doctor(keyEnv(arrange()));

      expect(report.code).toBe(1);
      expect(line(report, "✗", "Auth0 token")).toMatch(
        /^✗ Auth0 token: Auth0 did not accept the private key's signature/,
      );
      expect(line(report, "✗", "Auth0 token")).toMatch(said);
      expect(fixOf(report, "✗", "Auth0 token")).toBe(REGISTER());
      expect(line(report, "-", "Dynamic Client Registration")).toContain("no Management API token");
      expectNoSecrets(report, pair.fingerprint);
    },
  );

  it("a clock 10 minutes slow: ✗ Auth0 token, and the fix says to check the clock", async () => {
    auth0.registerClientKey({ publicKey: pair.publicKey, alg: "PS256", keyId: "kid-bot" });
    auth0.setClockOffset(600);
    const report = await doctor(keyEnv());

    expect(line(report, "✗", "Auth0 token")).toMatch(
      /refused the client assertion's claims .*expired/,
    );
    expect(fixOf(report, "✗", "Auth0 token")).toMatch(/^check this host's clock \(NTP\)/);
  });

  it("a key file that is a public key: ✗ Configuration naming AUTH0_PRIVATE_KEY_FILE, Auth0 not asked", async () => {
    const publicFile = keys.write(
      "bot.pub",
      pair.publicKey.export({ type: "spki", format: "pem" }) as string,
    );
    const report = await doctor(keyEnv({ AUTH0_PRIVATE_KEY_FILE: publicFile }));

    expect(report.code).toBe(1);
    expect(line(report, "✗", "Configuration")).toContain(
      `AUTH0_PRIVATE_KEY_FILE (${publicFile}) holds a public key, not the private key`,
    );
    expect(fixOf(report, "✗", "Configuration")).toBe(
      "set AUTH0_PRIVATE_KEY_FILE in the environment or in .env (see .env.example)",
    );
    expect(line(report, "-", "Auth0 token")).toContain("the configuration is invalid");
    expect(auth0.requests).toHaveLength(0);
  });
});
