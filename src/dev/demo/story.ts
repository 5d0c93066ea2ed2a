/**
 * The demo's script: Alice asks through the request form, Carol (not an approver) is refused, Bob
 * approves; then the same in prod, typed as a command. It drives the running bot with
 * Slack-signed requests and prints what each of them would see, the audit trail and what the
 * emulated Auth0 received.
 */
import type {
  Auth0Emulator,
  Auth0Tenant,
  EmulatedClient,
  EmulatedConnection,
} from "../emulators/auth0/index.js";
import type { SlackEmulator, SlackMessage } from "../emulators/slack/index.js";
import { sendBlockAction, sendSlashCommand } from "../emulators/slack-requests.js";
import { renderMessage } from "../render.js";
import { askWithTheForm } from "./form.js";

const ALICE = "UALICE001";
export const BOB = "UBOB00001";
const CAROL = "UCAROL001";
export const DAVE = "UDAVE0001";
const GENERAL = "CGENERAL01";
export const APPROVALS = "CAPPROVALS";
export const AUDIT = "CAUDIT0001";
export const PROD_APPROVALS = "CPRODAPPR1";
export const SIGNING_SECRET = "demo-signing-secret-not-a-real-one";
/** Every wait polls until this deadline: no fixed sleeps stand in for synchronisation. */
const WAIT_MS = 20_000;

const ACME: EmulatedConnection = {
  id: "con_AcmeEmployees001",
  name: "acme-employees",
  display_name: "Acme Employees",
  strategy: "auth0",
  is_domain_connection: false,
};
const PARTNER: EmulatedConnection = {
  id: "con_PartnerSso000001",
  name: "partner-sso",
  display_name: "Partner SSO",
  strategy: "samlp",
  is_domain_connection: false,
};

const CONTRACTORS: EmulatedConnection = {
  id: "con_AcmeContractor01",
  name: "acme-contractors",
  display_name: "Acme Contractors",
  strategy: "samlp",
  is_domain_connection: true,
};

/** The emulated tenant's connections; one of them is domain-level already. */
export const CONNECTIONS: readonly EmulatedConnection[] = [ACME, CONTRACTORS, PARTNER];

/**
 * The emulated tenant's applications: the approval message counts and names the third-party
 * ones, which a promoted connection would reach.
 */
export const CLIENTS: readonly EmulatedClient[] = [
  { client_id: "demoWebApp000000000000000000001", name: "Acme Portal", is_first_party: true },
  { client_id: "demoPartner00000000000000000001", name: "Partner CRM", is_first_party: false },
  { client_id: "demoPartner00000000000000000002", name: "Helpdesk", is_first_party: false },
  { client_id: "demoPartner00000000000000000003", name: "Survey Tool", is_first_party: false },
];

const NAMES: Record<string, string> = {
  [ALICE]: "alice",
  [BOB]: "bob",
  [CAROL]: "carol",
  [DAVE]: "dave",
  [PROD_APPROVALS]: "prod-approvals",
  [GENERAL]: "general",
  [APPROVALS]: "approvals",
  [AUDIT]: "audit",
};

class DemoError extends Error {}

export function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

function heading(title: string): void {
  say();
  say(`── ${title} ──`);
}

function render(message: { text?: unknown; blocks?: unknown }): string {
  return renderMessage(message, { names: NAMES });
}

/** One message, as a box edge: `│ line`. */
function showMessage(text: string): void {
  for (const line of text.split("\n")) say(`  │ ${line}`.trimEnd());
}

/** Several messages, one bullet each. */
function showMessages(texts: string[]): void {
  if (texts.length === 0) say("  (nothing)");
  for (const text of texts) {
    const [first = "", ...rest] = text.split("\n");
    say(`  • ${first}`);
    for (const line of rest) say(`    ${line}`.trimEnd());
  }
}

/** What the clicker's Slack shows privately: the answers posted to their response URL. */
function privateReplies(slack: SlackEmulator, responseUrl: string): string[] {
  return slack.responsesTo(responseUrl).map((body) => render(body));
}

function approvalMessage(slack: SlackEmulator, channel = APPROVALS): SlackMessage | undefined {
  return slack.messages(channel).at(-1);
}

/** The approve button's request id and its confirmation dialog, read from the message. */
function approveButton(message: SlackMessage): { requestId: string; confirm?: string } {
  for (const block of message.blocks ?? []) {
    const elements = (block as { elements?: unknown[] }).elements ?? [];
    for (const element of elements) {
      const button = element as {
        action_id?: string;
        value?: string;
        confirm?: { title?: { text?: string }; text?: { text?: string } };
      };
      if (button.action_id === "approve_request" && button.value) {
        const { title, text } = button.confirm ?? {};
        return {
          requestId: button.value,
          confirm: title?.text ? `“${title.text}” ${text?.text ?? ""}`.trim() : undefined,
        };
      }
    }
  }
  throw new DemoError("the approval message has no Approve button");
}

async function click(
  slack: SlackEmulator,
  eventsUrl: string,
  user: string,
  requestId: string,
  channel = APPROVALS,
): Promise<string> {
  const message = approvalMessage(slack, channel);
  const responseUrl = slack.responseUrl();
  const res = await sendBlockAction(eventsUrl, SIGNING_SECRET, {
    user_id: user,
    user_name: NAMES[user],
    team_id: slack.teamId,
    action_id: "approve_request",
    value: requestId,
    block_id: `decision_${requestId}`,
    response_url: responseUrl,
    channel_id: channel,
    message_ts: message?.ts,
  });
  if (res.status !== 200) {
    throw new DemoError(`the bot answered the click with HTTP ${res.status}: ${res.body}`);
  }
  return responseUrl;
}

function auditLines(slack: SlackEmulator): SlackMessage[] {
  return slack.messages(AUDIT);
}

function hasAudit(slack: SlackEmulator, event: string, requestId: string): boolean {
  return auditLines(slack).some((m) => m.text?.startsWith(`${event} ${requestId}`));
}

/** Tells the story against a running bot whose events URL is `eventsUrl`. */
export async function tellTheStory(
  slack: SlackEmulator,
  auth0: Auth0Emulator,
  eventsUrl: string,
): Promise<void> {
  say("Who is who:");
  say("  @alice  asks for the change (anyone may ask)");
  say("  @bob    approves in both tenants; @dave approves in prod too");
  say("  @carol  is not an approver");
  say("Two emulated Auth0 tenants, from TENANTS_FILE:");
  say(`  dev   ${new URL(auth0.url).host}: one approval, posted to #approvals`);
  say(
    `  prod  ${new URL(auth0.tenant("prod").url).host}: two approvals, posted to #prod-approvals`,
  );
  say("Each has these connections:");
  for (const c of CONNECTIONS) {
    say(
      `  ${c.name} (${c.id}), display name "${c.display_name}", strategy ${c.strategy}${c.is_domain_connection ? ", domain-level already" : ""}`,
    );
  }
  const thirdParty = CLIENTS.filter((c) => !c.is_first_party).map((c) => c.name);
  say(`and these third-party applications: ${thirdParty.join(", ")}.`);

  // 1. Alice asks, in dev, through the request form: she need not know the connection's id.
  await askWithTheForm(
    {
      slack,
      eventsUrl,
      signingSecret: SIGNING_SECRET,
      user: { id: ALICE, name: "Alice" },
      channel: { id: GENERAL, name: "general" },
      names: NAMES,
      say,
      heading,
      waitMs: WAIT_MS,
    },
    { tenant: "dev", query: "acm", connection: ACME.name, reason: "onboarding Acme" },
  );
  heading("Alice's direct message from the bot (only she sees it)");
  showMessages(slack.messages(ALICE).map((m) => render(m)));
  const asked = slack.messages(ALICE).length;

  // The approval message, once its first audit line is posted and linked from it.
  const pending = await slack.waitFor(
    () => {
      const message = approvalMessage(slack);
      return message && message.updates > 0 && auditLines(slack).length > 0 ? message : undefined;
    },
    { timeoutMs: WAIT_MS, what: "the approval message in #approvals" },
  );
  const { requestId, confirm } = approveButton(pending);
  heading("#approvals: the approval message (everyone in the channel sees it)");
  showMessage(render(pending));

  // 2. Carol is refused: the server checks every click, whatever the buttons look like.
  heading("Carol (not an approver) clicks Approve");
  if (confirm) say(`  Slack first asks her to confirm: ${confirm} She confirms.`);
  const carolUrl = await click(slack, eventsUrl, CAROL, requestId);
  await slack.waitFor(() => privateReplies(slack, carolUrl).length > 0, {
    timeoutMs: WAIT_MS,
    what: "the bot's answer to Carol",
  });
  heading("Carol sees (only to her)");
  showMessages(privateReplies(slack, carolUrl));
  // Her refusal is on the trail before Bob decides, so the trail reads in the order things happened.
  await slack.waitFor(() => hasAudit(slack, "refused", requestId), {
    timeoutMs: WAIT_MS,
    what: "the audit line of Carol's refused click",
  });

  // 3. Bob approves; the worker promotes the connection.
  heading("Bob (the approver) clicks Approve");
  if (confirm) say("  He confirms the same dialog.");
  const bobUrl = await click(slack, eventsUrl, BOB, requestId);
  const outcome = await slack.waitFor(
    () => {
      const text = approvalMessage(slack)?.text ?? "";
      const state = /\((done|failed)\)/.exec(text)?.[1];
      const told = slack.messages(ALICE).length > asked;
      const done = state === "done" ? "promoted" : "failed";
      return state && told && hasAudit(slack, done, requestId) ? state : undefined;
    },
    { timeoutMs: WAIT_MS, what: "the worker to promote the connection and report it" },
  );
  const bobSees = privateReplies(slack, bobUrl);
  if (bobSees.length > 0) {
    heading("Bob sees (only to him)");
    showMessages(bobSees);
  }
  say("  The worker fetched an Auth0 token, read the connection and patched it.");

  heading("#approvals: the approval message, updated in place (Approve and Deny gone)");
  const decided = approvalMessage(slack);
  showMessage(decided ? render(decided) : "(no message)");

  heading("Alice's next direct message from the bot");
  showMessages(
    slack
      .messages(ALICE)
      .slice(asked)
      .map((m) => render(m)),
  );

  heading("#audit: the audit trail, oldest first (new messages, never edited)");
  showMessages(auditLines(slack).map((m) => render(m)));

  heading("What the emulated Auth0 received");
  for (const r of auth0.requests) {
    const query = new URLSearchParams(r.query).toString();
    say(`  ${r.method} ${r.path}${query ? `?${query}` : ""} → ${r.status}`);
  }
  const patches = auth0.apiRequests("PATCH", "/api/v2/connections/");
  for (const patch of patches) {
    say();
    say(`  The change itself: ${patch.method} ${patch.path}`);
    for (const line of JSON.stringify(patch.body, null, 2).split("\n")) say(`    ${line}`);
  }
  const after = auth0.connection(ACME.id);
  say();
  say(
    `  ${ACME.name} in the emulated tenant now: is_domain_connection ${after?.is_domain_connection}, display name "${after?.display_name}".`,
  );

  if (outcome !== "done") throw new DemoError("the promotion failed; see the messages above");
  if (patches.length !== 1) {
    throw new DemoError(`Auth0 received ${patches.length} PATCH requests, not one`);
  }
  await tellTheProdStory(slack, auth0.tenant("prod"), eventsUrl);
  say();
  say(
    "Slack and Auth0 were emulated on this machine (loopback): nothing was sent to real Slack or Auth0.",
  );
}

/** The same change in prod: its own channel, two approvers, and only prod's tenant is touched. */
async function tellTheProdStory(
  slack: SlackEmulator,
  prod: Auth0Tenant,
  eventsUrl: string,
): Promise<void> {
  const typed = `prod ${ACME.name} "go live for Acme"`;
  heading("prod: Alice types, in #general");
  say(`  /promote-connection ${typed}`);
  const aliceUrl = slack.responseUrl();
  await sendSlashCommand(eventsUrl, SIGNING_SECRET, {
    text: typed,
    user_id: ALICE,
    user_name: NAMES[ALICE],
    team_id: slack.teamId,
    channel_id: GENERAL,
    channel_name: "general",
    response_url: aliceUrl,
  });
  const pending = await slack.waitFor(() => approvalMessage(slack, PROD_APPROVALS), {
    timeoutMs: WAIT_MS,
    what: "the approval message in #prod-approvals",
  });
  const { requestId } = approveButton(pending);
  heading("#prod-approvals: the approval message names the tenant");
  showMessage(render(pending));

  heading("prod: Bob approves, then Dave");
  const bobUrl = await click(slack, eventsUrl, BOB, requestId, PROD_APPROVALS);
  await slack.waitFor(() => privateReplies(slack, bobUrl).length > 0, {
    timeoutMs: WAIT_MS,
    what: "the bot's answer to Bob",
  });
  showMessages(privateReplies(slack, bobUrl));
  await click(slack, eventsUrl, DAVE, requestId, PROD_APPROVALS);
  await slack.waitFor(() => hasAudit(slack, "promoted", requestId), {
    timeoutMs: WAIT_MS,
    what: "the promotion in prod",
  });
  heading("What the emulated prod tenant received");
  for (const patch of prod.apiRequests("PATCH", "/api/v2/connections/")) {
    say(`  ${patch.method} ${patch.path} → ${patch.status}`);
  }
  say(
    `  ${ACME.name} in prod now: is_domain_connection ${prod.connection(ACME.id)?.is_domain_connection}.`,
  );
}
