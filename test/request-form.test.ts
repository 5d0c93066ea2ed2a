import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_REASON_LENGTH } from "../src/requests/model.js";
import {
  CHANGE_BLOCK_ID,
  REASON_BLOCK_ID,
  TENANT_BLOCK_ID,
} from "../src/slack/views/request-modal.js";
import { type Auth0Tenant, startAuth0Emulator } from "./support/auth0-emulator.js";
import {
  block,
  connectionBlock,
  openFormByCommand,
  openFormByShortcut,
  pick,
  submit,
  suggest,
  useShortcut,
  waitForDm,
} from "./support/request-form.js";
import {
  ACME,
  ALREADY_DOMAIN,
  APPROVAL_CHANNEL,
  APPROVER,
  ask,
  BYSTANDER,
  expectNothingRequested,
  REQUESTER,
  type Stack,
  startStack,
  waitForAudit,
} from "./support/stack.js";

/**
 * The request form: `/promote-connection` with nothing after it, or the global shortcut, opens a
 * modal that asks for the tenant (when there are several), the change, the connection (a
 * type-ahead over all of the tenant's connections) and a reason; submitting it files the same
 * request as the typed command. Everything goes through the real Bolt receiver, as Slack sends it.
 */

let stack: Stack | undefined;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const PROD_APPROVALS = "CPRODAPPRV";
const envRef = (name: string) => ["$", "{", name, "}"].join("");

/** dev (a reason optional) and prod (its policy requires one), each its own emulated tenant. */
async function devAndProd(): Promise<{ dev: Auth0Tenant; prod: Auth0Tenant; env: object }> {
  const connections = () => [{ ...ACME }, { ...ALREADY_DOMAIN }];
  const auth0 = await startAuth0Emulator({
    connections: connections(),
    tenants: { prod: { connections: connections() } },
  });
  cleanups.push(() => auth0.close());
  const prod = auth0.tenant("prod");
  const dir = mkdtempSync(join(tmpdir(), "tenants-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "tenants.yaml");
  writeFileSync(
    path,
    [
      "tenants:",
      "  - name: dev",
      `    domain: ${auth0.url}`,
      `    clientId: ${auth0.clientId}`,
      `    clientSecret: ${envRef("DEV_SECRET")}`,
      "  - name: prod",
      `    domain: ${prod.url}`,
      `    clientId: ${prod.clientId}`,
      `    clientSecret: ${envRef("PROD_SECRET")}`,
      `    approvalChannelId: ${PROD_APPROVALS}`,
      "    requireReason: true",
      "",
    ].join("\n"),
  );
  return {
    dev: auth0,
    prod,
    env: { TENANTS_FILE: path, DEV_SECRET: auth0.clientSecret, PROD_SECRET: prod.clientSecret },
  };
}

function connectionGets(tenant: Auth0Tenant) {
  return tenant
    .apiRequests("GET", "/api/v2/connections")
    .filter((r) => r.path.endsWith("/connections"));
}

describe("opening the request form", () => {
  it("`/promote-connection` with nothing after it opens the form (one tenant: no tenant field); help still shows the usage", async () => {
    stack = await startStack();
    const s = stack;
    const { form, ack, status } = await openFormByCommand(s, REQUESTER);
    expect(status).toBe(200);
    // Nothing is said in the channel: the form is the answer.
    expect(ack).toBe("");
    const opened = s.slack.callsTo("views.open").at(-1);
    expect(String(opened?.args.trigger_id)).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    expect(form.title).toBe("Request a change");
    expect(block(form, TENANT_BLOCK_ID)).toBeUndefined();
    const change = block(form, CHANGE_BLOCK_ID);
    expect(change?.element?.options?.map((o) => o.value)).toEqual([
      "promote",
      "demote",
      "enable-dcr",
      "disable-dcr",
    ]);
    expect(change?.element?.initial_option?.value).toBe("promote");
    expect(connectionBlock(form)?.element).toMatchObject({
      type: "external_select",
      min_query_length: 0,
    });
    expect(block(form, REASON_BLOCK_ID)?.optional).toBe(true);
    // Opening it asked Auth0 nothing.
    expect(s.auth0.requests).toHaveLength(0);

    const help = await s.command(REQUESTER, "help");
    expect(help.ack).toContain("/promote-connection con_");
    expect(help.ack).toContain("Request a change");
  });

  it("the global shortcut opens the same form; someone who may not ask is told why instead", async () => {
    stack = await startStack({ env: { REQUESTER_USER_IDS: REQUESTER } });
    const s = stack;
    const form = await openFormByShortcut(s, REQUESTER);
    expect(form.title).toBe("Request a change");
    expect(connectionBlock(form)).toBeDefined();

    const refused = await useShortcut(s, BYSTANDER);
    expect(refused.status).toBe(200);
    const dm = await waitForDm(s, BYSTANDER, /cannot ask/);
    expect(dm).toContain(`<@${REQUESTER}>`);
    expect(s.slack.callsTo("views.open")).toHaveLength(1);
  });
});
