import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { type Auth0Tenant, startAuth0Emulator } from "./support/auth0-emulator.js";
import { keyDirectory, rsaKeyPair } from "./support/private-keys.js";
import {
  ACME,
  ALREADY_DOMAIN,
  APPROVAL_CHANNEL,
  APPROVER,
  APPROVER_2,
  ask,
  REQUESTER,
  type Stack,
  startStack,
  waitForAudit,
} from "./support/stack.js";

/**
 * Two Auth0 tenants, dev and prod, each with its own credentials (its own emulated tenant) and
 * its own policy: prod needs two approvers and posts to its own channel.
 */

const PROD_APPROVALS = "CPRODAPPRV";

/** `${NAME}` as TENANTS_FILE writes a reference to an environment variable. */
const envRef = (name: string) => ["$", "{", name, "}"].join("");
const cleanups: Array<() => Promise<unknown> | unknown> = [];
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One emulator serving two tenants, dev (its default) and prod, each with its own client. */
async function devAndProd(): Promise<[Auth0Tenant, Auth0Tenant]> {
  const connections = () => [{ ...ACME }, { ...ALREADY_DOMAIN }];
  const auth0 = await startAuth0Emulator({
    connections: connections(),
    tenants: { prod: { connections: connections() } },
  });
  cleanups.push(() => auth0.close());
  return [auth0, auth0.tenant("prod")];
}

function tenantsFile(dev: Auth0Tenant, prod: Auth0Tenant): string {
  const dir = mkdtempSync(join(tmpdir(), "tenants-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "tenants.yaml");
  writeFileSync(
    path,
    [
      "tenants:",
      "  - name: dev",
      `    domain: ${dev.url}`,
      `    clientId: ${dev.clientId}`,
      `    clientSecret: ${envRef("DEV_AUTH0_SECRET")}`,
      `    approverUserIds: [${APPROVER}]`,
      "    requiredApprovals: 1",
      "  - name: prod",
      `    domain: ${prod.url}`,
      `    clientId: ${prod.clientId}`,
      `    clientSecret: ${envRef("PROD_AUTH0_SECRET")}`,
      `    approverUserIds: [${APPROVER}, ${APPROVER_2}]`,
      "    requiredApprovals: 2",
      `    approvalChannelId: ${PROD_APPROVALS}`,
      "    requestTtl: 4h",
      "",
    ].join("\n"),
  );
  return path;
}

describe("several tenants", () => {
  it("dev and prod, each with its credentials and policy: a command names the tenant, and each change reaches its own tenant only", async () => {
    const [dev, prod] = await devAndProd();
    stack = await startStack({
      env: {
        TENANTS_FILE: tenantsFile(dev, prod),
        DEV_AUTH0_SECRET: dev.clientSecret,
        PROD_AUTH0_SECRET: prod.clientSecret,
      },
    });
    const s = stack;

    // No tenant named: the answer lists them, and nothing reaches either tenant.
    const unnamed = await s.command(REQUESTER, `${ACME.name} "which one?"`);
    expect(unnamed.ack).toMatch(/Which tenant\? Name one of `dev`, `prod`/);
    expect(dev.requests).toHaveLength(0);
    expect(prod.requests).toHaveLength(0);

    // dev: one approval, its channel (the global one), its tenant only.
    const devId = await ask(s, `dev ${ACME.name} "try it on dev"`);
    const devMessage = JSON.stringify(s.slack.messages(APPROVAL_CHANNEL).at(-1)?.blocks);
    expect(devMessage).toContain(`dev (${new URL(dev.url).host})`);
    await s.click(APPROVER, "approve_request", devId);
    expect(await waitForAudit(s, "promoted", devId)).toContain(" in dev ");
    expect(dev.connection(ACME.id)?.is_domain_connection).toBe(true);
    expect(prod.connection(ACME.id)?.is_domain_connection).toBe(false);

    // prod: the same connection name is another target; its channel, two approvers needed.
    const prodAsked = await s.command(REQUESTER, `prod ${ACME.name} "now on prod"`);
    await s.waitForReply(prodAsked.responseUrl, /Request `req_/);
    const prodMessage = await s.slack.waitFor(() => s.slack.messages(PROD_APPROVALS).at(-1));
    const prodId = /req_[0-9a-hjkmnp-tv-z]{10}/.exec(JSON.stringify(prodMessage.blocks))?.[0] ?? "";
    expect(JSON.stringify(prodMessage.blocks)).toContain(`prod (${new URL(prod.url).host})`);
    const first = await s.click(APPROVER, "approve_request", prodId);
    expect(await s.waitForReply(first.responseUrl, /is recorded/)).toMatch(/1 more needed/);
    expect(prod.apiRequests("PATCH")).toHaveLength(0);
    await s.click(APPROVER_2, "approve_request", prodId);
    expect(await waitForAudit(s, "promoted", prodId)).toContain(" in prod ");
    expect(prod.connection(ACME.id)?.is_domain_connection).toBe(true);

    // Each tenant used its own credentials: one token each, one PATCH each.
    expect(dev.tokensIssued).toBe(1);
    expect(prod.tokensIssued).toBe(1);
    expect(dev.apiRequests("PATCH")).toHaveLength(1);
    expect(prod.apiRequests("PATCH")).toHaveLength(1);
    const stored = await s.storedRequests();
    expect(stored.map((r) => [r.tenant, r.requiredApprovals])).toEqual([
      ["dev", 1],
      ["prod", 2],
    ]);
    const dm = await s.slack.waitFor(() =>
      s.slack.messages(REQUESTER).find((m) => m.text?.includes(prodId)),
    );
    expect(dm.text).toContain(`in prod (${new URL(prod.url).host})`);
  });
});

describe("TENANTS_FILE", () => {
  function withFile(text: string, env: Record<string, string> = {}) {
    const dir = mkdtempSync(join(tmpdir(), "tenants-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "tenants.yaml");
    writeFileSync(path, text);
    const base = {
      SLACK_BOT_TOKEN: "xoxb-1",
      SLACK_SIGNING_SECRET: "s",
      AUDIT_CHANNEL_ID: "CAUDIT0001",
      APPROVAL_CHANNEL_ID: "CAPPRV0001",
      APPROVER_USER_IDS: "U0GLOBAL01",
      TENANTS_FILE: path,
    };
    return { ...base, ...env };
  }
  const problems = (env: NodeJS.ProcessEnv): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (err) {
      return (err as { problems: string[] }).problems;
    }
  };

  it("the issue's example works as written: keys left out fall back to the globals", () => {
    // The example's key file, where this machine keeps it (a real RSA key).
    const keys = keyDirectory();
    cleanups.push(() => keys.remove());
    const keyFile = keys.write("auth0-prod.pem", rsaKeyPair().pem);
    const env = withFile(
      [
        "tenants:",
        "  - name: dev",
        "    domain: acme-dev.us.auth0.com",
        "    clientId: abc123",
        `    clientSecret: ${envRef("DEV_AUTH0_SECRET")}   # ${envRef("VAR")} is read from the environment`,
        "    approverUserIds: [U0AAA]",
        "    requiredApprovals: 1",
        "  - name: prod",
        "    domain: acme.us.auth0.com",
        "    clientId: def456",
        `    privateKeyFile: ${keyFile}   # private_key_jwt instead of a secret`,
        "    privateKeyId: prod-key-1                      # optional kid",
        "    approverUserIds: [U0BBB, U0CCC]",
        "    approverUsergroupId: S0DDD",
        "    requiredApprovals: 2",
        "    approvalChannelId: C0PRODAPPROVALS",
        "    requestTtl: 4h",
        "    dryRun: false",
        "",
      ].join("\n"),
      { DEV_AUTH0_SECRET: "dev-secret-value" },
    );
    const config = loadConfig(env);
    expect(config.tenants.map((t) => t.name)).toEqual(["dev", "prod"]);
    const [dev, prod] = config.tenants;
    expect(dev).toMatchObject({
      domain: "acme-dev.us.auth0.com",
      audience: "https://acme-dev.us.auth0.com/api/v2/",
      credential: { kind: "secret", secret: "dev-secret-value" },
      approvalChannelId: "CAPPRV0001",
      requestTtlMs: 24 * 3600_000,
    });
    expect(prod).toMatchObject({
      credential: { kind: "private_key_jwt", keyId: "prod-key-1", alg: "RS256" },
      approvers: { userIds: ["U0BBB", "U0CCC"], usergroupId: "S0DDD" },
      requiredApprovals: 2,
      approvalChannelId: "C0PRODAPPROVALS",
      requestTtlMs: 4 * 3600_000,
    });
  });

  it("a problem names the tenant and the key, and never shows a secret", () => {
    const env = withFile(
      [
        "tenants:",
        "  - name: prod",
        "    domain: http://acme.us.auth0.com",
        "    clientId: def456",
        `    clientSecret: ${envRef("MISSING_SECRET")}`,
        "    requiredApprovals: two",
        "  - name: list",
        "    domain: acme-list.us.auth0.com",
        "    clientId: x",
        "    clientSecret: very-secret-value",
        "    approverUsrIds: [U0AAA]",
        "",
      ].join("\n"),
    );
    const lines = problems(env);
    expect(lines).toContain(
      `tenant prod: ${envRef("MISSING_SECRET")} is not set in the environment`,
    );
    expect(lines).toContain("tenant prod: requiredApprovals must be a number");
    expect(lines).toContain("tenant list: unknown key approverUsrIds");
    expect(lines.join("\n")).not.toContain("very-secret-value");
  });
});

describe("Dynamic Client Registration as a kind of change", () => {
  it("enable-dcr and disable-dcr go through approval; the worker sends exactly the flag, and refuses what is already so", async () => {
    stack = await startStack({ auth0: { dynamicClientRegistration: false } });
    const s = stack;

    const enableId = await ask(s, 'enable-dcr "third-party apps need our shared SSO"');
    const message = JSON.stringify(s.slack.messages(APPROVAL_CHANNEL).at(-1)?.blocks);
    expect(message).toContain("Turn on Dynamic Client Registration");
    expect(message).toContain("register themselves");
    await s.click(APPROVER, "approve_request", enableId);
    const enabled = await waitForAudit(s, "dcr-enabled", enableId);
    expect(enabled).toMatch(new RegExp(`^dcr-enabled ${enableId} enable-dcr in default by`));
    const patches = s.auth0.apiRequests("PATCH", "/api/v2/tenants/settings");
    expect(patches.map((p) => p.body)).toEqual([
      { flags: { enable_dynamic_client_registration: true } },
    ]);

    // Already on: refused before any approval, and with nothing stored.
    const again = await s.command(REQUESTER, "enable-dcr");
    expect(await s.waitForReply(again.responseUrl, /already on/)).toContain("nothing to approve");

    const disableId = await ask(s, "disable-dcr default");
    await s.click(APPROVER, "approve_request", disableId);
    await waitForAudit(s, "dcr-disabled", disableId);
    expect(s.auth0.apiRequests("PATCH", "/api/v2/tenants/settings").map((p) => p.body)).toEqual([
      { flags: { enable_dynamic_client_registration: true } },
      { flags: { enable_dynamic_client_registration: false } },
    ]);
    // And a promotion asked now warns again that DCR is off (the cached settings were dropped).
    await ask(s, ACME.id);
    expect(JSON.stringify(s.slack.messages(APPROVAL_CHANNEL).at(-1)?.blocks)).toContain(
      "Dynamic Client Registration is off",
    );
  });

  it("without update:tenant_settings the approved change fails, naming the scope", async () => {
    stack = await startStack({
      auth0: {
        dynamicClientRegistration: false,
        scopes: ["read:connections", "update:connections", "read:tenant_settings"],
      },
    });
    const s = stack;
    const id = await ask(s, "enable-dcr");
    await s.click(APPROVER, "approve_request", id);
    // (Slack's formatting characters are neutralised in the text: _ is set apart.)
    expect(await waitForAudit(s, "failed", id)).toMatch(
      /lacks the update:tenant\W*_\W*settings scope/,
    );
  });
});
