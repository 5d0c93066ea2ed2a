/**
 * `npm run demo`: the whole flow on this machine, with no Slack or Auth0 account. A throwaway
 * redis-server (or REDIS_URL), loopback emulators of Slack and Auth0, the real bot and worker, and
 * a script of three people: Alice asks, Carol (not an approver) is refused, Bob approves. It prints
 * what each of them would see, the audit trail and what Auth0 received.
 *
 * The only module outside the tests that imports src/emulators.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "./config.js";
import {
  type EmbeddedRedis,
  RedisServerNotFoundError,
  startEmbeddedRedis,
} from "./embedded-redis.js";
import {
  type Auth0Emulator,
  type EmulatedConnection,
  startAuth0Emulator,
} from "./emulators/auth0.js";
import { renderMessage } from "./emulators/render.js";
import { type SlackEmulator, type SlackMessage, startSlackEmulator } from "./emulators/slack.js";
import {
  closeSlackRequestAgent,
  sendBlockAction,
  sendSlashCommand,
} from "./emulators/slack-requests.js";
import { createRedis } from "./jobs/queues.js";
import { createLogger } from "./log.js";
import { freePort } from "./net.js";
import { type Running, start } from "./runtime/index.js";

const ALICE = "UALICE001";
const BOB = "UBOB00001";
const CAROL = "UCAROL001";
const GENERAL = "CGENERAL01";
const APPROVALS = "CAPPROVALS";
const AUDIT = "CAUDIT0001";
const SIGNING_SECRET = "demo-signing-secret-not-a-real-one";
/** Every wait polls until this deadline: no fixed sleeps stand in for synchronisation. */
const WAIT_MS = 20_000;
/** The whole demo, start-up and shutdown included. */
const OVERALL_MS = 90_000;

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

const NAMES: Record<string, string> = {
  [ALICE]: "alice",
  [BOB]: "bob",
  [CAROL]: "carol",
  [GENERAL]: "general",
  [APPROVALS]: "approvals",
  [AUDIT]: "audit",
};

class DemoError extends Error {}

function say(line = ""): void {
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

/** A free loopback port, so the demo's Redis never takes 6379 from a Redis started later. */

/** What the clicker's Slack shows privately: the answers posted to their response URL. */
function privateReplies(slack: SlackEmulator, responseUrl: string): string[] {
  return slack.responsesTo(responseUrl).map((body) => render(body));
}

function approvalMessage(slack: SlackEmulator): SlackMessage | undefined {
  return slack.messages(APPROVALS).at(-1);
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
): Promise<string> {
  const message = approvalMessage(slack);
  const responseUrl = slack.responseUrl();
  const res = await sendBlockAction(eventsUrl, SIGNING_SECRET, {
    user_id: user,
    user_name: NAMES[user],
    team_id: slack.teamId,
    action_id: "approve_request",
    value: requestId,
    block_id: `decision_${requestId}`,
    response_url: responseUrl,
    channel_id: APPROVALS,
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

interface Parts {
  slack?: SlackEmulator;
  auth0?: Auth0Emulator;
  redis?: EmbeddedRedis;
  externalRedisUrl?: string;
  prefix: string;
  tempDir?: string;
  running?: Running;
}

async function runScript(parts: Parts, logs: string[]): Promise<void> {
  const externalRedisUrl = process.env.REDIS_URL?.trim() || undefined;
  say("promote-connection demo: the whole flow on this machine, no Slack or Auth0 account needed.");
  say(
    "Slack and Auth0 are emulated on loopback (127.0.0.1); the bot and its worker are the real ones.",
  );

  if (externalRedisUrl) {
    parts.externalRedisUrl = externalRedisUrl;
  } else {
    parts.tempDir = mkdtempSync(join(tmpdir(), "promote-connection-demo-"));
    try {
      parts.redis = await startEmbeddedRedis({
        dataDir: parts.tempDir,
        port: await freePort(),
        logger: createLogger({ level: "silent" }),
      });
    } catch (err) {
      if (!(err instanceof RedisServerNotFoundError)) throw err;
      throw new DemoError(
        "the demo runs its own throwaway redis-server, and there is none on PATH. Install Redis 7 " +
          "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set " +
          "REDIS_URL to a Redis the demo may use (it writes only keys under demo-…: and removes them).",
      );
    }
  }
  const redisUrl = parts.redis?.url ?? externalRedisUrl ?? "";

  const slack = await startSlackEmulator({
    botToken: "xoxb-demo-emulated-token",
    teamId: "T0DEMO001",
  });
  parts.slack = slack;
  const auth0 = await startAuth0Emulator({ connections: [{ ...ACME }, { ...PARTNER }] });
  parts.auth0 = auth0;

  const config = loadConfig({
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    APPROVAL_CHANNEL_ID: APPROVALS,
    AUDIT_CHANNEL_ID: AUDIT,
    APPROVER_USER_IDS: BOB,
    AUTH0_DOMAIN: auth0.url,
    AUTH0_CLIENT_ID: auth0.clientId,
    AUTH0_CLIENT_SECRET: auth0.clientSecret,
    AUTH0_MAX_REQUESTS_PER_SECOND: "20",
    REDIS_URL: redisUrl,
    REDIS_PREFIX: parts.prefix,
    PORT: "0",
    LOG_LEVEL: "warn",
  });
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk).trimEnd());
      if (logs.length > 50) logs.shift();
      done();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination: sink });
  parts.running = await start(config, { role: "all", logger, host: "127.0.0.1" });
  const eventsUrl = `http://127.0.0.1:${parts.running.port}/slack/events`;

  say(
    parts.redis
      ? `Redis: a throwaway redis-server at ${parts.redis.url}, data in ${parts.tempDir} (removed at the end).`
      : `Redis: ${externalRedisUrl} (REDIS_URL), keys under "${parts.prefix}:" (removed at the end).`,
  );
  say(`The bot listens on ${eventsUrl}; the people below reach it with Slack-signed requests.`);
  say();
  say("Who is who:");
  say("  @alice  asks for the change (anyone may ask)");
  say("  @bob    is the approver (APPROVER_USER_IDS)");
  say("  @carol  is not an approver");
  say("The emulated Auth0 tenant has these connections, none of them domain-level:");
  for (const c of [ACME, PARTNER]) {
    say(`  ${c.name} (${c.id}), display name "${c.display_name}", strategy ${c.strategy}`);
  }

  // 1. Alice asks.
  const typed = `${ACME.name} "onboarding Acme"`;
  heading("Alice types, in #general");
  say(`  /promote-connection ${typed}`);
  const aliceUrl = slack.responseUrl();
  const command = await sendSlashCommand(eventsUrl, SIGNING_SECRET, {
    text: typed,
    user_id: ALICE,
    user_name: NAMES[ALICE],
    team_id: slack.teamId,
    channel_id: GENERAL,
    channel_name: "general",
    response_url: aliceUrl,
  });
  if (command.status !== 200) {
    throw new DemoError(
      `the bot answered the command with HTTP ${command.status}: ${command.body}`,
    );
  }
  const ack = command.body ? (JSON.parse(command.body) as Record<string, unknown>) : {};
  await slack.waitFor(() => privateReplies(slack, aliceUrl).find((t) => t.includes("created")), {
    timeoutMs: WAIT_MS,
    what: "the bot's answer to Alice",
  });
  heading("Alice sees (only to her)");
  showMessages([render(ack), ...privateReplies(slack, aliceUrl)].filter(Boolean));

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
      const told = slack.messages(ALICE).length > 0;
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

  heading("#approvals: the approval message, updated in place (buttons gone)");
  const decided = approvalMessage(slack);
  showMessage(decided ? render(decided) : "(no message)");

  heading("Alice's direct message from the bot");
  showMessages(slack.messages(ALICE).map((m) => render(m)));

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
  say();
  say(
    "Slack and Auth0 were emulated on this machine (loopback): nothing was sent to real Slack or Auth0.",
  );
}

/** Deletes the demo's keys from a Redis it did not start, so it leaves nothing behind. */
async function removeKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = createRedis(redisUrl, "promote-connection:demo-cleanup");
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

async function stopAll(parts: Parts): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown> | undefined) => {
    try {
      await fn();
    } catch (err) {
      problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  await step("stopping the bot", () => parts.running?.stop());
  await step("closing the Slack emulator", () => parts.slack?.close());
  await step("closing the Auth0 emulator", () => parts.auth0?.close());
  await step("closing the request agent", () => closeSlackRequestAgent());
  if (parts.externalRedisUrl) {
    const url = parts.externalRedisUrl;
    await step("removing the demo's Redis keys", () => removeKeys(url, parts.prefix));
  }
  await step("stopping the embedded Redis", () => parts.redis?.stop());
  if (parts.tempDir) {
    const dir = parts.tempDir;
    await step("removing the temporary directory", async () =>
      rmSync(dir, { recursive: true, force: true }),
    );
  }
  return problems;
}

async function main(): Promise<void> {
  const parts: Parts = { prefix: `demo-${randomBytes(4).toString("hex")}` };
  const logs: string[] = [];

  // Stopped once, however the demo ends: the embedded redis-server runs in its own process group
  // and would otherwise outlive an interrupted demo, and the temporary directory would stay.
  let stopped: Promise<string[]> | undefined;
  const stopOnce = () => {
    stopped ??= stopAll(parts);
    return stopped;
  };
  /** Stops everything (bounded: a part that hangs does not keep the demo alive) and exits. */
  const abandon = (why: string, code: number) => {
    process.stderr.write(`\n${why}; stopping the demo.\n`);
    setTimeout(() => process.exit(code), 10_000).unref();
    void stopOnce().then(() => process.exit(code));
  };
  const watchdog = setTimeout(
    () => abandon(`The demo did not finish within ${OVERALL_MS / 1000} s`, 1),
    OVERALL_MS,
  );
  watchdog.unref();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => abandon(`Interrupted (${signal})`, 130));
  }

  let failure: unknown;
  try {
    await runScript(parts, logs);
  } catch (err) {
    failure = err;
  }
  const problems = await stopOnce();
  clearTimeout(watchdog);

  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    process.stderr.write(`\nThe demo failed: ${message}\n`);
    if (logs.length > 0) {
      process.stderr.write("What the bot logged (warnings and errors):\n");
      for (const line of logs) process.stderr.write(`  ${line}\n`);
    }
  }
  for (const problem of problems) process.stderr.write(`While cleaning up, ${problem}\n`);
  process.exit(failure !== undefined || problems.length > 0 ? 1 : 0);
}

void main();
