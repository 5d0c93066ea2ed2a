import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConfigError,
  configWarnings,
  loadConfig,
  parseDuration,
  parseRate,
} from "../src/config.js";
import { startBotProcess } from "./support/child.js";
import { ecKeyPair, type KeyPair, keyDirectory, rsaKeyPair } from "./support/private-keys.js";

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
        // Reminded halfway through (REMIND_AFTER unset).
        remindAfterMs: 12 * 3600_000,
        dryRun: false,
        requireReason: false,
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

  it("npm start on a fresh clone, nothing configured: lists what is missing, then points at npm run demo and .env.example", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promote-connection-fresh-"));
    try {
      // No .env in its directory and nothing but PATH in its environment.
      const bot = await startBotProcess([], {}, { cwd: dir });
      expect(await bot.exited()).toBe(1);
      const lines = bot.output().split("\n");
      expect(lines[0]).toBe(
        "promote-connection cannot start; fix these settings (environment or .env):",
      );
      expect(lines).toContain("  ✗ SLACK_BOT_TOKEN is required (the xoxb- bot token)");
      expect(lines).toContain(
        "  ✗ AUTH0_DOMAIN is required (the tenant's domain, e.g. acme.us.auth0.com)",
      );
      const hint = lines.slice(lines.indexOf("") + 1).filter(Boolean);
      expect(hint).toEqual([
        "Nothing is configured yet: there is no .env here, and no Slack or Auth0 setting in the environment.",
        "  To see the whole flow on this machine first, with Slack and Auth0 emulated (no accounts needed):",
        "    npm run demo",
        "  To configure the bot for your Slack workspace and Auth0 tenant:",
        '    cp .env.example .env, fill it in (README, "Configure"), then npm start again',
      ]);

      // A .env that sets nothing of Slack or Auth0 yet: the same pointer, to fill that file in.
      writeFileSync(join(dir, ".env"), "LOG_LEVEL=info\nSLACK_BOT_TOKEN=\n");
      const again = await startBotProcess([], {}, { cwd: dir });
      expect(await again.exited()).toBe(1);
      const out = again.output();
      expect(out).toContain("Nothing is configured yet: .env sets no Slack or Auth0 setting");
      expect(out).toContain("npm run demo");
      expect(out).toContain('fill in .env (README, "Configure"), then npm start again');
      expect(out).not.toMatch(/at .*\.js:\d+/); // no stack trace
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("npm start half-configured: after the problems, where each setting is explained and npm run doctor", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promote-connection-half-"));
    try {
      writeFileSync(join(dir, ".env"), "SLACK_BOT_TOKEN=xoxb-1-2-abc\n");
      const bot = await startBotProcess([], {}, { cwd: dir });
      expect(await bot.exited()).toBe(1);
      const lines = bot.output().split("\n");
      expect(lines).not.toContain("  ✗ SLACK_BOT_TOKEN is required (the xoxb- bot token)");
      expect(lines).toContain(
        "  ✗ AUTH0_DOMAIN is required (the tenant's domain, e.g. acme.us.auth0.com)",
      );
      expect(lines.slice(lines.indexOf("") + 1).filter(Boolean)).toEqual([
        'Each setting is explained in .env.example and in the README\'s "Configure" section.',
        "npm run doctor checks the whole setup (settings, Redis, Slack, Auth0) and says how to fix each problem.",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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

describe("Redis settings: one node, TLS, Sentinel, Cluster", () => {
  const tempFile = () => {
    const dir = mkdtempSync(join(tmpdir(), "promote-connection-config-"));
    const file = join(dir, "ca.pem");
    writeFileSync(file, "-----BEGIN CERTIFICATE-----\n");
    return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
  };

  it("one node by default, the prefix as given, no TLS files", () => {
    expect(loadConfig(GOOD).redis).toEqual({
      url: "redis://127.0.0.1:6379",
      prefix: "promote-connection",
      topology: { mode: "single" },
      tls: {},
    });
  });

  it("Sentinels as host:port (26379 when left out, IPv6 in brackets); TLS to them follows REDIS_URL unless told", () => {
    const sentinel = loadConfig({
      ...GOOD,
      REDIS_URL: "rediss://:pw@mymaster",
      REDIS_SENTINELS: "10.0.0.11:26380, sentinel-b.internal ,[::1]:26381",
      REDIS_SENTINEL_NAME: "mymaster",
      REDIS_SENTINEL_PASSWORD: "sentinel-pw",
    }).redis;
    expect(sentinel).toMatchObject({
      prefix: "promote-connection",
      topology: {
        mode: "sentinel",
        name: "mymaster",
        sentinels: [
          { host: "10.0.0.11", port: 26380 },
          { host: "sentinel-b.internal", port: 26379 },
          { host: "::1", port: 26381 },
        ],
        password: "sentinel-pw",
        tls: true,
      },
    });
    const plainSentinels = loadConfig({
      ...GOOD,
      REDIS_URL: "rediss://:pw@mymaster",
      REDIS_SENTINELS: "10.0.0.11",
      REDIS_SENTINEL_NAME: "mymaster",
      REDIS_SENTINEL_TLS: "false",
    }).redis.topology;
    expect(plainSentinels).toMatchObject({ mode: "sentinel", tls: false });
  });

  it("a Cluster's prefix is a hash tag, so that every key is in one slot", () => {
    const cluster = loadConfig({
      ...GOOD,
      REDIS_CLUSTER_NODES: "10.0.0.21,10.0.0.22:7001",
      REDIS_PREFIX: "pc-prod",
    }).redis;
    expect(cluster).toMatchObject({
      prefix: "{pc-prod}",
      topology: {
        mode: "cluster",
        nodes: [
          { host: "10.0.0.21", port: 6379 },
          { host: "10.0.0.22", port: 7001 },
        ],
      },
    });
  });

  it("TLS files are read from where they are named, with rediss://", () => {
    const ca = tempFile();
    try {
      const redis = loadConfig({
        ...GOOD,
        REDIS_URL: "rediss://redis.internal:6380",
        REDIS_TLS_CA_FILE: ca.file,
        REDIS_TLS_CERT_FILE: ca.file,
        REDIS_TLS_KEY_FILE: ca.file,
        REDIS_TLS_SERVERNAME: "redis.internal",
      }).redis;
      expect(redis.tls).toEqual({
        caFile: ca.file,
        certFile: ca.file,
        keyFile: ca.file,
        servername: "redis.internal",
      });
    } finally {
      ca.remove();
    }
  });

  it("combinations that cannot work are refused, one line each, naming what to change", () => {
    expect(
      problems({ ...GOOD, REDIS_SENTINELS: "10.0.0.11", REDIS_CLUSTER_NODES: "10.0.0.21" }),
    ).toEqual([
      "REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set: Redis is either watched by Sentinels or a Cluster; keep one",
      expect.stringMatching(/^REDIS_SENTINEL_NAME is required with REDIS_SENTINELS: .*mymaster$/),
    ]);
    expect(
      problems({ ...GOOD, REDIS_SENTINEL_NAME: "mymaster", REDIS_SENTINEL_PASSWORD: "x" }),
    ).toEqual([
      "REDIS_SENTINEL_NAME has no effect without REDIS_SENTINELS: set REDIS_SENTINELS too, or remove REDIS_SENTINEL_NAME",
      "REDIS_SENTINEL_PASSWORD has no effect without REDIS_SENTINELS: set REDIS_SENTINELS too, or remove REDIS_SENTINEL_PASSWORD",
    ]);
    const ca = tempFile();
    try {
      expect(problems({ ...GOOD, REDIS_TLS_CA_FILE: ca.file })).toEqual([
        "REDIS_TLS_CA_FILE has no effect: nothing uses TLS (REDIS_URL must start with rediss:// for TLS to Redis)",
      ]);
      expect(
        problems({ ...GOOD, REDIS_URL: "rediss://redis.internal", REDIS_TLS_CERT_FILE: ca.file }),
      ).toEqual([
        "REDIS_TLS_KEY_FILE is required with REDIS_TLS_CERT_FILE: a client certificate goes with its private key",
      ]);
    } finally {
      ca.remove();
    }
    expect(
      problems({ ...GOOD, REDIS_URL: "redis://:pw@cluster/2", REDIS_CLUSTER_NODES: "10.0.0.21" }),
    ).toEqual([
      "REDIS_URL selects database 2, but a Redis Cluster has database 0 only: remove /2 from REDIS_URL",
    ]);
  });

  it("malformed nodes and unreadable files are named", () => {
    expect(
      problems({
        ...GOOD,
        REDIS_URL: "rediss://redis.internal",
        REDIS_CLUSTER_NODES: "10.0.0.21:99999,10.0.0.22:x",
        REDIS_TLS_CA_FILE: "/nonexistent/ca.pem",
      }),
    ).toEqual([
      'REDIS_CLUSTER_NODES "10.0.0.21:99999" is not host:port (such as 10.0.0.5:6379 or redis-1.internal:6379)',
      'REDIS_CLUSTER_NODES "10.0.0.22:x" is not host:port (such as 10.0.0.5:6379 or redis-1.internal:6379)',
      "REDIS_TLS_CA_FILE cannot be read (ENOENT): /nonexistent/ca.pem",
    ]);
  });
});

/** GOOD without a credential: each test gives a secret or a key file. */
const BASE = { ...GOOD, AUTH0_CLIENT_SECRET: undefined };
const keys = keyDirectory();
afterAll(() => keys.remove());

const rsa = rsaKeyPair();
const ec = ecKeyPair();
const rsaFile = keys.write("rsa.pem", rsa.pem);
const ecFile = keys.write("ec.pem", ec.pem);

/** Problems of GOOD without its client secret, and with `env`. */
function keyProblems(env: Record<string, string | undefined>): string[] {
  return problems({ ...BASE, ...env });
}

describe("the Auth0 credential: a client secret or a private key file", () => {
  it("a client secret alone, as before", () => {
    const config = loadConfig({ ...BASE, AUTH0_CLIENT_SECRET: "client-secret" });
    expect(config.tenants[0]?.credential).toEqual({ kind: "secret", secret: "client-secret" });
  });

  it("a private key file: the algorithm follows the key, or the setting when the key allows several", () => {
    const cases = [
      { file: rsaFile, alg: undefined, expected: "RS256" },
      { file: rsaFile, alg: "PS256", expected: "PS256" },
      { file: rsaFile, alg: "RS384", expected: "RS384" },
      { file: ecFile, alg: undefined, expected: "ES256" },
      { file: ecFile, alg: "ES256", expected: "ES256" },
    ];
    for (const { file, alg, expected } of cases) {
      const config = loadConfig({
        ...BASE,
        AUTH0_CLIENT_SECRET: "",
        AUTH0_PRIVATE_KEY_FILE: file,
        AUTH0_PRIVATE_KEY_ID: "kid-1",
        AUTH0_CLIENT_ASSERTION_ALG: alg,
      });
      expect(config.tenants[0]?.credential).toMatchObject({
        kind: "private_key_jwt",
        keyId: "kid-1",
        alg: expected,
      });
    }
    // PKCS#1 ("BEGIN RSA PRIVATE KEY") and SEC1 ("BEGIN EC PRIVATE KEY") files are read too.
    const pkcs1 = keys.write(
      "pkcs1.pem",
      rsa.privateKey.export({ type: "pkcs1", format: "pem" }) as string,
    );
    const sec1 = keys.write(
      "sec1.pem",
      ec.privateKey.export({ type: "sec1", format: "pem" }) as string,
    );
    expect(
      loadConfig({ ...BASE, AUTH0_PRIVATE_KEY_FILE: pkcs1 }).tenants[0]?.credential,
    ).toMatchObject({
      alg: "RS256",
    });
    expect(
      loadConfig({ ...BASE, AUTH0_PRIVATE_KEY_FILE: sec1 }).tenants[0]?.credential,
    ).toMatchObject({
      alg: "ES256",
    });
  });

  it("exactly one of the two, each mistake one line naming the variable", () => {
    expect(keyProblems({})).toEqual([
      "AUTH0_CLIENT_SECRET is required (the machine-to-machine application's client secret), or set AUTH0_PRIVATE_KEY_FILE for private_key_jwt",
    ]);
    expect(keyProblems({ AUTH0_CLIENT_SECRET: "s", AUTH0_PRIVATE_KEY_FILE: rsaFile })).toEqual([
      "AUTH0_CLIENT_SECRET and AUTH0_PRIVATE_KEY_FILE are both set: set one (a client secret, or a private key for private_key_jwt)",
    ]);
    expect(keyProblems({ AUTH0_CLIENT_SECRET: "s", AUTH0_PRIVATE_KEY_ID: "kid-1" })).toEqual([
      "AUTH0_PRIVATE_KEY_ID has no effect without AUTH0_PRIVATE_KEY_FILE: remove it",
    ]);
    // Reported with the other problems, not instead of them.
    expect(keyProblems({ AUTH0_DOMAIN: "http://acme.us.auth0.com" })).toHaveLength(2);
  });

  it("a key file Auth0 could never accept stops start-up, in words that never show the key", () => {
    const small = rsaKeyPair(1024);
    const p384 = ecKeyPair("P-384");
    const ed = generateKeyPairSync("ed25519").privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    const pss = generateKeyPairSync("rsa-pss", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    const encrypted = rsa.privateKey.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: "correct horse",
    }) as string;
    const publicPem = rsa.publicKey.export({ type: "spki", format: "pem" }) as string;
    const cases: Array<{ file: string; alg?: string; said: RegExp; pair?: KeyPair }> = [
      { file: "/nonexistent/key.pem", said: /names \/nonexistent\/key\.pem, which does not exist/ },
      {
        file: keys.write("dir-is-not-a-file", "").replace(/dir-is-not-a-file$/, ""),
        said: /is a directory/,
      },
      {
        file: keys.write("public.pem", publicPem),
        said: /holds a public key, not the private key/,
      },
      { file: keys.write("encrypted.pem", encrypted), said: /passphrase-protected/ },
      {
        file: keys.write("garbage.pem", `${rsa.pem.slice(0, 200)}garbage`),
        said: /is not a private key in PEM form/,
        pair: rsa,
      },
      {
        file: keys.write("small.pem", small.pem),
        said: /1024-bit RSA key: .* at least 2048 bits/,
        pair: small,
      },
      {
        file: keys.write("p384.pem", p384.pem),
        said: /EC key on secp384r1: ES256 needs P-256/,
        pair: p384,
      },
      { file: keys.write("ed.pem", ed), said: /holds an ed25519 key: use an RSA key/ },
      {
        file: keys.write("pss.pem", pss),
        said: /RSASSA-PSS-only key: .*AUTH0_CLIENT_ASSERTION_ALG=PS256/,
      },
    ];
    for (const { file, alg, said, pair } of cases) {
      const lines = keyProblems({ AUTH0_PRIVATE_KEY_FILE: file, AUTH0_CLIENT_ASSERTION_ALG: alg });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^AUTH0_PRIVATE_KEY_FILE /);
      expect(lines[0]).toMatch(said);
      expect(lines[0]).not.toContain("PRIVATE KEY-----");
      if (pair) expect(lines[0]).not.toContain(pair.fingerprint);
    }
  });

  it("an algorithm the key cannot sign, or none Auth0 knows: AUTH0_CLIENT_ASSERTION_ALG", () => {
    expect(
      keyProblems({ AUTH0_PRIVATE_KEY_FILE: rsaFile, AUTH0_CLIENT_ASSERTION_ALG: "ES256" }),
    ).toEqual([
      "AUTH0_CLIENT_ASSERTION_ALG is ES256, which an RSA key cannot sign: use RS256, RS384, PS256",
    ]);
    expect(
      keyProblems({ AUTH0_PRIVATE_KEY_FILE: ecFile, AUTH0_CLIENT_ASSERTION_ALG: "PS256" }),
    ).toEqual([
      "AUTH0_CLIENT_ASSERTION_ALG is PS256, which an EC P-256 key cannot sign: use ES256",
    ]);
    expect(
      keyProblems({ AUTH0_PRIVATE_KEY_FILE: rsaFile, AUTH0_CLIENT_ASSERTION_ALG: "HS256" }),
    ).toEqual([
      'AUTH0_CLIENT_ASSERTION_ALG must be one of RS256, RS384, PS256, ES256, not "HS256"',
    ]);
  });

  it("the configuration, printed or serialized, shows no key", () => {
    const config = loadConfig({ ...BASE, AUTH0_PRIVATE_KEY_FILE: rsaFile });
    const shown = `${JSON.stringify(config)}\n${inspect(config, { depth: 10 })}`;
    expect(shown).not.toContain(rsa.fingerprint);
    expect(shown).not.toContain("PRIVATE KEY");
  });
});
