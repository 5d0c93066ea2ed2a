import { generateKeyPairSync } from "node:crypto";
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
    expect(config.auth0.baseUrl).toBe("https://acme.us.auth0.com");
    expect(config.auth0.audience).toBe("https://acme.us.auth0.com/api/v2/");
    expect(config.slack.apiUrl).toBe("https://slack.com/api/");
    expect(config.redis.url).toBe("redis://127.0.0.1:6379");
    expect(config.port).toBe(3000);
    expect(config.approvers.userIds).toEqual(["U0APPROVE1", "U0APPROVE2"]);
    expect(config.policy).toEqual({
      requiredApprovals: 1,
      requestTtlMs: 24 * 3600_000,
      maxOpenRequestsPerUser: 5,
      userRateLimit: { limit: 20, windowMs: 60_000 },
      allowedTeamIds: [],
      dryRun: false,
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
    expect(loadConfig({ ...GOOD, AUTH0_DOMAIN: "http://127.0.0.1:4000" }).auth0.baseUrl).toBe(
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
    expect(config.auth0.credential).toEqual({ kind: "secret", secret: "client-secret" });
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
      expect(config.auth0.credential).toMatchObject({
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
    expect(loadConfig({ ...BASE, AUTH0_PRIVATE_KEY_FILE: pkcs1 }).auth0.credential).toMatchObject({
      alg: "RS256",
    });
    expect(loadConfig({ ...BASE, AUTH0_PRIVATE_KEY_FILE: sec1 }).auth0.credential).toMatchObject({
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
