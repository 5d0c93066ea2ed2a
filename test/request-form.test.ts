import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pollUntil } from "../src/dev/harness/poll.js";
import { type ChangeRequest, MAX_REASON_LENGTH } from "../src/requests/model.js";
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
  TEAM_ID,
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

/** `count` connections beside ACME and ALREADY_DOMAIN: app-0 … app-N, display names "App N". */
function manyConnections(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `con_Bulk${String(i).padStart(12, "0")}`,
    name: `app-${i}`,
    display_name: `App ${i}`,
    strategy: "auth0",
    is_domain_connection: false,
  }));
}

describe("the connection picker's type-ahead", () => {
  it("reads every page (checkpoint pagination), matches name, display name and id, marks what needs no change, at most 100, and a minute of typing costs one listing", async () => {
    stack = await startStack({
      auth0: { connections: [{ ...ACME }, { ...ALREADY_DOMAIN }, ...manyConnections(250)] },
    });
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);

    // Opening the menu: the first 100 of 252, read in three pages of 100.
    const first = await suggest(s, REQUESTER, form, "");
    expect(first.status).toBe(200);
    expect(first.options).toHaveLength(100);
    const pages = connectionGets(s.auth0);
    expect(pages.map((p) => p.query.take)).toEqual(["100", "100", "100"]);
    expect(pages[0]?.query.from).toBeUndefined();
    expect(pages[0]?.query).toMatchObject({
      fields: "id,name,display_name,strategy,is_domain_connection",
      include_fields: "true",
    });
    expect(pages[1]?.query.from).toBeTruthy();
    expect(pages[2]?.query.from).toBeTruthy();
    expect(pages[2]?.query.from).not.toBe(pages[1]?.query.from);

    // By name, by display name (any case), by id; the option's value is the connection id.
    const byName = await suggest(s, REQUESTER, form, "acme");
    expect(byName.options[0]).toEqual({ text: "acme-db — Acme Employees", value: ACME.id });
    expect((await suggest(s, REQUESTER, form, "EMPLOYEES")).options.map((o) => o.value)).toEqual([
      ACME.id,
    ]);
    const byId = await suggest(s, REQUESTER, form, "con_Dom");
    expect(byId.options).toEqual([
      { text: "shared-google — Google · already domain-level", value: ALREADY_DOMAIN.id },
    ]);
    // An exact name first, then names that start with it, then any that contain it.
    const exact = await suggest(s, REQUESTER, form, "app-1");
    expect(exact.options.slice(0, 3).map((o) => o.text)).toEqual([
      "app-1 — App 1",
      "app-10 — App 10",
      "app-100 — App 100",
    ]);
    // app-1, app-10…19, app-100…199: 111 match, and Slack takes at most 100.
    expect(exact.options).toHaveLength(100);
    for (const answer of [first, byName, byId, exact]) expect(answer.ms).toBeLessThan(1_500);

    // Demoting: now the connections that are not domain-level need no change.
    const demoting = await pick(s, REQUESTER, form, "change", "demote");
    const marks = await suggest(s, REQUESTER, demoting, "g");
    expect(marks.options[0]).toEqual({
      text: "shared-google — Google",
      value: ALREADY_DOMAIN.id,
    });
    expect((await suggest(s, REQUESTER, demoting, "acme")).options[0]?.text).toBe(
      "acme-db — Acme Employees · not domain-level",
    );

    // All of that typing: one listing. Another process on the same Redis uses it too.
    await s.restart();
    expect((await suggest(s, REQUESTER, form, "app-24")).options).toHaveLength(11);
    expect(connectionGets(s.auth0)).toHaveLength(3);
  });

  it("each tenant has its own list", async () => {
    const { dev, prod, env } = await devAndProd();
    stack = await startStack({ env: env as Record<string, string> });
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    // No tenant yet: no connections to choose from.
    expect(connectionBlock(form)).toBeUndefined();
    expect(JSON.stringify(form.blocks)).toContain("Pick a tenant first");

    const inDev = await pick(s, REQUESTER, form, "tenant", "dev");
    expect(connectionBlock(inDev)?.block_id).toBe("connection_dev");
    expect((await suggest(s, REQUESTER, inDev, "acme")).options[0]?.value).toBe(ACME.id);
    const inProd = await pick(s, REQUESTER, inDev, "tenant", "prod");
    expect(connectionBlock(inProd)?.block_id).toBe("connection_prod");
    expect((await suggest(s, REQUESTER, inProd, "acme")).options[0]?.value).toBe(ACME.id);
    await suggest(s, REQUESTER, inDev, "shared");
    await suggest(s, REQUESTER, inProd, "shared");
    expect(connectionGets(dev)).toHaveLength(1);
    expect(connectionGets(prod)).toHaveLength(1);
  });

  it("when Auth0 is slow, answers in time with what it has (an exact id as typed), and the list once it is read", async () => {
    stack = await startStack();
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    s.auth0.injectFault({
      kind: "delay",
      method: "GET",
      path: "/api/v2/connections",
      delayMs: 3_500,
    });
    const slow = await suggest(s, REQUESTER, form, ACME.id);
    expect(slow.ms).toBeLessThan(2_500);
    expect(slow.options).toEqual([{ text: `${ACME.id} (as typed)`, value: ACME.id }]);
    const later = await pollUntil(
      async () => {
        const answer = await suggest(s, REQUESTER, form, "acme");
        return answer.options.some((o) => o.text === "acme-db — Acme Employees") && answer;
      },
      { timeoutMs: 10_000, timedOut: () => new Error("no list once Auth0 answered") },
    );
    expect(later.options).toHaveLength(1);
    expect(connectionGets(s.auth0)).toHaveLength(1);
  });

  it("type-ahead requests are not counted against USER_RATE_LIMIT: typing never locks anyone out", async () => {
    stack = await startStack({ env: { USER_RATE_LIMIT: "3/1m" } });
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    for (const query of ["a", "ac", "acm", "acme", "acme-", "acme-d", "acme-db"]) {
      expect((await suggest(s, REQUESTER, form, query)).options[0]?.value).toBe(ACME.id);
    }
    // The command that opened the form was one; this is the second.
    expect((await s.command(REQUESTER, "help")).ack).toContain("/promote-connection");
  });

  it("someone from a workspace the bot does not serve is offered nothing, and sent nothing", async () => {
    stack = await startStack({ env: { ALLOWED_TEAM_IDS: TEAM_ID } });
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    const foreign = await suggest(s, BYSTANDER, form, "acme", { userTeam: "T0ELSEWHERE" });
    expect(foreign).toMatchObject({ status: 200, options: [] });
    expect((await suggest(s, REQUESTER, form, "acme")).options[0]?.value).toBe(ACME.id);
    expect(s.slack.messages(BYSTANDER)).toEqual([]);
  });
});

/** What a request is, apart from its identity, times and where it stands. */
function substance(r: ChangeRequest | undefined) {
  if (!r) return undefined;
  const { kind, tenant, tenantDomain, action, target, reason, requesterId, teamId } = r;
  const { requiredApprovals, dryRun, approvals } = r;
  return {
    ...{ kind, tenant, tenantDomain, action, target, reason, requesterId, teamId },
    ...{ requiredApprovals, dryRun, approvals },
  };
}

/** A message with its request ids and dates blanked, to compare two requests' messages. */
function blanked(value: unknown): string {
  return JSON.stringify(value)
    .replace(/req_[0-9a-hjkmnp-tv-z]{10}/g, "req_…")
    .replace(/<!date\^\d+\^[^|]*\|[^>]*>/g, "<date>")
    .replace(/\d{10}\.\d{6}|p\d{16}/g, "<ts>");
}

/** The newest approval message once it links to its audit trail, blanked. */
async function approvalMessageOf(s: Stack, requestId: string): Promise<string> {
  await waitForAudit(s, "requested", requestId);
  const message = await s.slack.waitFor(() => {
    const latest = s.slack.messages(APPROVAL_CHANNEL).at(-1);
    const text = JSON.stringify(latest?.blocks);
    return text.includes(requestId) && text.includes("audit trail") && latest;
  });
  return blanked(message.blocks);
}

describe("submitting the request form", () => {
  it("files the same request as the typed command: same record, approval message and audit line; the answer comes by direct message", async () => {
    stack = await startStack();
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    await suggest(s, REQUESTER, form, "acme");
    const submitted = await submit(s, REQUESTER, form, {
      connection: ACME.id,
      reason: "onboarding Acme",
    });
    // The form closes (an empty answer) ...
    expect(submitted).toEqual({ status: 200, errors: undefined });
    // ... and the answer the command would have given comes by direct message.
    const dm = await waitForDm(s, REQUESTER, /Request `req_/);
    expect(dm).toContain("created: promote `acme-db` (`con_Acme000000000001`)");
    expect(dm).toContain("Reason: onboarding Acme");
    const fromForm = await s.latestRequestId();
    const formMessage = await approvalMessageOf(s, fromForm);
    const formAudit = await waitForAudit(s, "requested", fromForm);

    // The same request, typed, once the first is withdrawn.
    const cancel = await s.command(REQUESTER, `cancel ${fromForm}`);
    await s.waitForReply(cancel.responseUrl, /withdrawn/);
    const typed = await ask(s, `${ACME.id} "onboarding Acme"`);
    const typedMessage = await approvalMessageOf(s, typed);
    const typedAudit = await waitForAudit(s, "requested", typed);

    const [first, second] = await s.storedRequests();
    expect(first?.id).toBe(fromForm);
    expect(second?.state).toBe("PENDING");
    expect(substance(first)).toEqual(substance(second));
    expect(formMessage).toEqual(typedMessage);
    expect(formAudit.replace(fromForm, typed)).toEqual(typedAudit);

    // And the rest of the story is the same: approved, promoted once.
    await s.click(APPROVER, "approve_request", typed);
    await waitForAudit(s, "promoted", typed);
    expect(s.auth0.apiRequests("PATCH")).toHaveLength(1);
  });

  it("what is missing or refused comes back under the form's fields, and nothing is requested", async () => {
    stack = await startStack({ env: { REQUESTER_USER_IDS: REQUESTER } });
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    const picker = connectionBlock(form)?.block_id ?? "";
    const before = s.auth0.requests.length;

    // No connection; a reason too long: both at once, before Redis or Auth0 is asked.
    const empty = await submit(s, REQUESTER, form, { reason: "x".repeat(MAX_REASON_LENGTH + 1) });
    expect(empty.errors).toEqual({
      [picker]: "Pick a connection in default.",
      [REASON_BLOCK_ID]: `The reason is ${MAX_REASON_LENGTH + 1} characters long; please keep it to ${MAX_REASON_LENGTH}.`,
    });
    // Someone who may not ask.
    const outsider = await submit(s, BYSTANDER, form, { connection: ACME.id });
    expect(outsider.errors?.[CHANGE_BLOCK_ID]).toMatch(/not among those who may ask/);
    expect(s.auth0.requests).toHaveLength(before);
    await expectNothingRequested(s);

    // Already domain-level, as the list read for the type-ahead says.
    await suggest(s, REQUESTER, form, "");
    const already = await submit(s, REQUESTER, form, { connection: ALREADY_DOMAIN.id });
    expect(already.errors).toEqual({
      [picker]: "shared-google is already domain-level: there is nothing to approve.",
    });
    await expectNothingRequested(s);

    // An open request for the same change.
    expect((await submit(s, REQUESTER, form, { connection: ACME.id })).errors).toBeUndefined();
    await waitForDm(s, REQUESTER, /Request `req_/);
    const open = await s.latestRequestId();
    const twice = await submit(s, REQUESTER, form, { connection: ACME.id });
    expect(twice.errors?.[picker]).toContain(`already an open request for this change: ${open}`);
    expect((await s.storedRequests()).map((r) => r.id)).toEqual([open]);
    expect(s.auth0.apiRequests("PATCH")).toHaveLength(0);
  });

  it("a change to Dynamic Client Registration needs no connection: the form drops the picker", async () => {
    stack = await startStack({ auth0: { dynamicClientRegistration: false } });
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    const dcr = await pick(s, REQUESTER, form, "change", "enable-dcr");
    expect(connectionBlock(dcr)).toBeUndefined();
    expect(JSON.stringify(dcr.blocks)).toContain("register themselves");
    const submitted = await submit(s, REQUESTER, dcr, { reason: "partner apps register" });
    expect(submitted.errors).toBeUndefined();
    expect(await waitForDm(s, REQUESTER, /Request `req_/)).toContain(
      "turn on Dynamic Client Registration",
    );
    const [stored] = await s.storedRequests();
    expect(stored).toMatchObject({
      kind: "tenant-dcr",
      action: "enable-dcr",
      tenant: "default",
      reason: "partner apps register",
      state: "PENDING",
    });
    expect(s.auth0.apiRequests("PATCH")).toHaveLength(0);
  });

  it("with several tenants: the tenant comes first, its policy decides whether a reason is required, and the request goes to that tenant", async () => {
    const { prod, env } = await devAndProd();
    stack = await startStack({ env: env as Record<string, string> });
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    expect(block(form, TENANT_BLOCK_ID)?.element?.options?.map((o) => o.value)).toEqual([
      "dev",
      "prod",
    ]);
    expect(block(form, REASON_BLOCK_ID)?.optional).toBe(true);
    // Submitted before a tenant is picked.
    expect((await submit(s, REQUESTER, form, {})).errors).toEqual({
      [TENANT_BLOCK_ID]: "Pick a tenant.",
    });

    const inProd = await pick(s, REQUESTER, form, "tenant", "prod");
    expect(block(inProd, REASON_BLOCK_ID)?.optional).toBe(false);
    expect(block(inProd, REASON_BLOCK_ID)?.hint?.text).toMatch(/Required in prod/);
    const noReason = await submit(s, REQUESTER, inProd, { connection: ACME.id });
    expect(noReason.errors?.[REASON_BLOCK_ID]).toMatch(/Requests in prod need a reason/);

    const filed = await submit(s, REQUESTER, inProd, {
      connection: ACME.id,
      reason: "go live",
    });
    expect(filed.errors).toBeUndefined();
    const message = await s.slack.waitFor(() => s.slack.messages(PROD_APPROVALS).at(-1));
    expect(JSON.stringify(message.blocks)).toContain(`prod (${new URL(prod.url).host})`);

    // A command naming only a change and a tenant opens the form with both picked.
    const { form: prefilled } = await openFormByCommand(s, REQUESTER, "demote dev");
    expect(block(prefilled, TENANT_BLOCK_ID)?.element?.initial_option?.value).toBe("dev");
    expect(block(prefilled, CHANGE_BLOCK_ID)?.element?.initial_option?.value).toBe("demote");
    expect(connectionBlock(prefilled)?.block_id).toBe("connection_dev");
  });

  it("the typed command follows the same reason policy: refused at once, naming it, with nothing asked of Auth0", async () => {
    stack = await startStack({ env: { REQUIRE_REASON: "true" } });
    const s = stack;
    const bare = await s.command(REQUESTER, ACME.name);
    expect(bare.ack).toMatch(/Requests in default need a reason \(the tenant's policy\)/);
    expect(bare.ack).toContain('/promote-connection acme-db "why it is needed"');
    const dcr = await s.command(REQUESTER, "enable-dcr");
    expect(dcr.ack).toMatch(/need a reason/);
    expect(s.auth0.requests).toHaveLength(0);
    await expectNothingRequested(s);
    await ask(s, `${ACME.name} "onboarding Acme"`);
  });
});

describe("the request form in Socket Mode", () => {
  it("opens, suggests and files over the socket, as over HTTP", async () => {
    stack = await startStack({ socketMode: true });
    const s = stack;
    const { form } = await openFormByCommand(s, REQUESTER);
    expect((await suggest(s, REQUESTER, form, "acme")).options[0]?.value).toBe(ACME.id);
    const submitted = await submit(s, REQUESTER, form, { connection: ACME.id, reason: "socket" });
    expect(submitted.errors).toBeUndefined();
    await waitForDm(s, REQUESTER, /Request `req_/);
    expect(JSON.stringify(s.slack.messages(APPROVAL_CHANNEL).at(-1)?.blocks)).toContain(ACME.name);
  });
});
