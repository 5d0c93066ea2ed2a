import { afterEach, describe, expect, it } from "vitest";
import { readThirdPartyApps } from "../src/auth0/third-party-apps.js";
import type { EmulatedClient } from "../src/dev/emulators/auth0/index.js";
import { thirdPartyImpact } from "../src/requests/changes/third-party-impact.js";
import { pendingRequest } from "../src/requests/model.js";
import { approvalMessage } from "../src/slack/views/approval-message.js";
import { connectionRequest } from "./support/requests.js";
import {
  ACME,
  ALREADY_DOMAIN,
  APPROVER,
  approvalMessages,
  ask,
  REQUESTER,
  type Stack,
  startStack,
} from "./support/stack.js";

/**
 * What approvers are shown of a change's reach: the tenant's third-party applications (which can
 * use only domain-level connections) that a promotion opens the connection to, or that a demotion
 * takes it from, and the tenant's Dynamic Client Registration state. Read from Auth0 when the
 * request is made and recorded with it.
 */

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

const CLIENTS_PATH = "/api/v2/clients";

function app(n: number, name = `Partner App ${String(n).padStart(3, "0")}`): EmulatedClient {
  return { client_id: `tp${String(n).padStart(30, "0")}`, name, is_first_party: false };
}

const FIRST_PARTY: EmulatedClient[] = [
  { client_id: "fp0000000000000000000000000001", name: "Our Web App", is_first_party: true },
  { client_id: "fp0000000000000000000000000002", name: "Our Mobile App", is_first_party: true },
];

/** The newest approval message (not a reply in its thread), as Slack holds its blocks. */
function approvalBlocks(s: Stack): unknown[] {
  return approvalMessages(s.slack).at(-1)?.blocks ?? [];
}

/** Every text object of the blocks, with its type: what Slack would show, and how. */
function texts(blocks: unknown[]): { type: string; text: string }[] {
  const found: { type: string; text: string }[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === "object") {
      const v = value as { type?: unknown; text?: unknown };
      if ((v.type === "mrkdwn" || v.type === "plain_text") && typeof v.text === "string") {
        found.push({ type: v.type, text: v.text });
      } else Object.values(value).forEach(visit);
    }
  };
  visit(blocks);
  return found;
}

function shown(s: Stack): string {
  return texts(approvalBlocks(s))
    .map((t) => t.text)
    .join("\n");
}

describe("the approval message shows the change's impact", () => {
  it("a promotion: how many third-party applications could then sign in with it, their names, and DCR's state", async () => {
    stack = await startStack({
      auth0: { clients: [...FIRST_PARTY, app(1, "Acme CRM"), app(2, "Zendesk"), app(3, "Miro")] },
    });
    const s = stack;
    await ask(s, `${ACME.id} onboarding`);

    const text = shown(s);
    expect(text).toContain("*Impact:* 3 third-party applications could then sign in with it.");
    expect(text).toContain("Dynamic Client Registration is *on*.");
    expect(texts(approvalBlocks(s))).toContainEqual({
      type: "plain_text",
      text: "Acme CRM, Zendesk and Miro",
    });
    // First-party applications can use any connection enabled for them: they are not counted.
    expect(text).not.toContain("Our Web App");

    // Asked as Auth0 documents it: third-party only, the two fields used, pages of 100 with totals.
    const [list] = s.auth0.apiRequests("GET", CLIENTS_PATH);
    expect(list?.query).toEqual({
      is_first_party: "false",
      fields: "name,client_id",
      include_fields: "true",
      page: "0",
      per_page: "100",
      include_totals: "true",
    });
    expect(list?.status).toBe(200);
  });

  it("more than fit: every page is read, the count is exact, the first ten are named, then 'and N more'", async () => {
    const many = Array.from({ length: 234 }, (_, i) => app(i + 1));
    stack = await startStack({ auth0: { clients: [...FIRST_PARTY, ...many] } });
    const s = stack;
    await ask(s, ACME.id);

    expect(shown(s)).toContain(
      "*Impact:* 234 third-party applications could then sign in with it.",
    );
    const names = many.slice(0, 10).map((c) => c.name);
    expect(texts(approvalBlocks(s))).toContainEqual({
      type: "plain_text",
      text: `${names.join(", ")} and 224 more`,
    });
    expect(s.auth0.apiRequests("GET", CLIENTS_PATH).map((r) => r.query.page)).toEqual([
      "0",
      "1",
      "2",
    ]);
  });

  it("thousands: at most ten pages are read, and Auth0's total still gives the count", async () => {
    const many = Array.from({ length: 1_234 }, (_, i) => app(i + 1));
    stack = await startStack({ auth0: { clients: many } });
    const s = stack;
    await ask(s, ACME.id);
    expect(shown(s)).toContain(
      "*Impact:* 1234 third-party applications could then sign in with it.",
    );
    expect(s.auth0.apiRequests("GET", CLIENTS_PATH)).toHaveLength(10);
  });

  it("a tenant without third-party applications says so", async () => {
    stack = await startStack({
      auth0: { clients: FIRST_PARTY, dynamicClientRegistration: false },
    });
    const s = stack;
    await ask(s, ACME.id);
    const text = shown(s);
    expect(text).toContain("*Impact:* No third-party applications in this tenant.");
    expect(text).toContain("Dynamic Client Registration is *off*.");
  });

  it("a demotion lists the applications that would lose it", async () => {
    stack = await startStack({ auth0: { clients: [app(1, "Acme CRM")] } });
    const s = stack;
    await ask(s, `demote ${ALREADY_DOMAIN.name} retiring it`);
    expect(shown(s)).toContain("*Impact:* 1 third-party application would lose it.");
    expect(texts(approvalBlocks(s))).toContainEqual({ type: "plain_text", text: "Acme CRM" });
  });

  it("without read:clients the message says the impact could not be read, and why; the request is made all the same", async () => {
    stack = await startStack({
      auth0: {
        clients: [app(1)],
        scopes: ["read:connections", "update:connections", "read:tenant_settings"],
      },
    });
    const s = stack;
    const requestId = await ask(s, ACME.id);

    const text = shown(s);
    expect(text).toContain("*Impact:* Could not read the tenant's third-party applications");
    expect(text).not.toContain("Partner App");
    const why = texts(approvalBlocks(s)).find((t) => t.text.includes("lacks the read:clients"));
    expect(why?.type).toBe("plain_text");
    expect(why?.text).toMatch(/^the Auth0 application lacks the read:clients .*scope/);
    expect(s.auth0.apiRequests("GET", CLIENTS_PATH).map((r) => r.status)).toEqual([403]);
    expect((await s.storedRequests()).map((r) => [r.id, r.state])).toEqual([
      [requestId, "PENDING"],
    ]);
  });

  it("names are Auth0's text, shown literally: in plain text on the message, escaped in status and App Home", async () => {
    const sneaky = "*Free* <!channel> @here `x`";
    stack = await startStack({ auth0: { clients: [app(1, sneaky)] } });
    const s = stack;
    const requestId = await ask(s, ACME.id);

    expect(texts(approvalBlocks(s))).toContainEqual({ type: "plain_text", text: sneaky });
    for (const t of texts(approvalBlocks(s)).filter((t) => t.type === "mrkdwn")) {
      expect(t.text).not.toMatch(/<!channel>|@here/);
    }

    // status and App Home show the same impact, recorded with the request: Auth0 is not asked again.
    const listed = s.auth0.apiRequests("GET", CLIENTS_PATH).length;
    const { responseUrl } = await s.command(REQUESTER, `status ${requestId}`);
    const status = await s.waitForReply(responseUrl, /Impact/);
    expect(status).toContain("1 third-party application could then sign in with it");
    expect(status).toContain("*Free*".replace(/\*/g, "\u200b*\u200b"));
    expect(status).not.toMatch(/<!channel>|@here/);
    const home = JSON.stringify((await s.openHome(APPROVER)).blocks);
    expect(home).toContain("1 third-party application could then sign in with it");
    expect(home).not.toMatch(/<!channel>|@here/);
    expect(s.auth0.apiRequests("GET", CLIENTS_PATH)).toHaveLength(listed);
  });
});

describe("reading the pages", () => {
  const page = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ client_id: `c${from + i}`, name: `App ${from + i}` }));

  it("without totals, pages are read until a short one; past the cap the count is a floor", async () => {
    const asked: string[] = [];
    const short = await readThirdPartyApps(async (path) => {
      asked.push(path);
      return asked.length === 1 ? page(0, 100) : page(100, 7);
    });
    expect(short).toEqual({ count: 107, atLeast: false, names: page(0, 10).map((c) => c.name) });
    expect(asked).toHaveLength(2);

    const endless = await readThirdPartyApps(async () => page(0, 100));
    expect(endless.count).toBe(1000);
    expect(endless.atLeast).toBe(true);
    const impact = thirdPartyImpact(
      { apps: String(endless.count), appsAtLeast: "1", appNames: JSON.stringify(endless.names) },
      true,
    );
    expect(impact?.summary).toContain("1000 or more third-party applications");
    expect(impact?.detail?.text).toMatch(/and 990 or more$/);
  });

  it("an answer that is not a list of applications is an error, recorded as 'could not be read'", async () => {
    const err = await readThirdPartyApps(async () => ({ nothing: true })).catch((e: unknown) => e);
    expect(String(err)).toContain("not a list of applications");
  });
});

describe("requests recorded before the impact was", () => {
  it("render as before: no impact line", () => {
    const request = connectionRequest(ACME);
    const message = approvalMessage(
      pendingRequest(request, {
        id: "req_0123456789",
        createdAt: Date.UTC(2025, 0, 15),
        expiresAt: Date.UTC(2025, 0, 16),
      }),
    );
    expect(JSON.stringify(message.blocks)).not.toContain("Impact");
    expect(JSON.stringify(message.blocks)).toContain("approve_request");
  });
});
