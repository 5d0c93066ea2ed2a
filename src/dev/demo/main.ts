/**
 * `npm run demo`: the whole flow on this machine, with no Slack or Auth0 account. A throwaway
 * redis-server (or REDIS_URL), loopback emulators of Slack and Auth0, the real bot and worker in
 * this process, and a script of three people (story.ts).
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { loadConfig } from "../../config.js";
import { createLogger, redactSecrets } from "../../log.js";
import { start } from "../../runtime/index.js";
import { startAuth0Emulator } from "../emulators/auth0/index.js";
import { startSlackEmulator } from "../emulators/slack/index.js";
import { closeSlackRequestAgent } from "../emulators/slack-requests.js";
import { Cleanup, exitOnDeadlineOrSignal } from "../harness/cleanup.js";
import { redisForRun } from "../harness/redis.js";
import {
  APPROVALS,
  AUDIT,
  BOB,
  CLIENTS,
  CONNECTIONS,
  DAVE,
  PROD_APPROVALS,
  SIGNING_SECRET,
  say,
  tellTheStory,
} from "./story.js";

/** The whole demo, start-up and shutdown included. */
const OVERALL_MS = 90_000;

/** Starts Redis, the emulators and the bot, each with its clean-up step, then tells the story. */
async function run(cleanup: Cleanup, logs: string[]): Promise<void> {
  const prefix = `demo-${randomBytes(4).toString("hex")}`;
  say("promote-connection demo: the whole flow on this machine, no Slack or Auth0 account needed.");
  say(
    "Slack and Auth0 are emulated on loopback (127.0.0.1); the bot and its worker are the real ones.",
  );

  cleanup.add("closing the request agent", () => closeSlackRequestAgent());
  const redis = await redisForRun({
    prefix,
    cleanup,
    tempPrefix: "promote-connection-demo-",
    whenMissing:
      "the demo runs its own throwaway redis-server, and there is none on PATH. Install Redis 7 " +
      "(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set " +
      "REDIS_URL to a Redis the demo may use (it writes only keys under demo-…: and removes them).",
  });

  const slack = await startSlackEmulator({
    botToken: "xoxb-demo-emulated-token",
    teamId: "T0DEMO001",
  });
  cleanup.add("closing the Slack emulator", () => slack.close());
  // Two tenants, dev (the emulator's default) and prod, each with its own application.
  const connections = () => CONNECTIONS.map((c) => ({ ...c }));
  const clients = () => CLIENTS.map((c) => ({ ...c }));
  const auth0 = await startAuth0Emulator({
    connections: connections(),
    clients: clients(),
    tenants: { prod: { connections: connections(), clients: clients() } },
  });
  cleanup.add("closing the Auth0 emulator", () => auth0.close());
  const prod = auth0.tenant("prod");
  const tenantsFile = join(cleanup.tempDir("promote-connection-demo-tenants-"), "tenants.yaml");
  writeFileSync(
    tenantsFile,
    [
      "tenants:",
      "  - name: dev",
      `    domain: ${auth0.url}`,
      `    clientId: ${auth0.clientId}`,
      `    clientSecret: ${"$"}{DEV_AUTH0_SECRET}`,
      "  - name: prod",
      `    domain: ${prod.url}`,
      `    clientId: ${prod.clientId}`,
      `    clientSecret: ${"$"}{PROD_AUTH0_SECRET}`,
      `    approverUserIds: [${BOB}, ${DAVE}]`,
      "    requiredApprovals: 2",
      `    approvalChannelId: ${PROD_APPROVALS}`,
      "",
    ].join("\n"),
  );

  const config = loadConfig({
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    APPROVAL_CHANNEL_ID: APPROVALS,
    AUDIT_CHANNEL_ID: AUDIT,
    APPROVER_USER_IDS: BOB,
    TENANTS_FILE: tenantsFile,
    DEV_AUTH0_SECRET: auth0.clientSecret,
    PROD_AUTH0_SECRET: prod.clientSecret,
    REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
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
  const running = await start(config, { role: "all", logger, host: "127.0.0.1" });
  cleanup.add("stopping the bot", () => running.stop());
  const eventsUrl = `http://127.0.0.1:${running.port}/slack/events`;

  say(
    redis.dataDir
      ? `Redis: a throwaway redis-server at ${redactSecrets(redis.url)}, data in ${redis.dataDir} (removed at the end).`
      : `Redis: ${redactSecrets(redis.url)} (REDIS_URL), keys under "${prefix}:" (removed at the end).`,
  );
  say(`The bot listens on ${eventsUrl}; the people below reach it with Slack-signed requests.`);
  say();
  await tellTheStory(slack, auth0, eventsUrl);
}

async function main(): Promise<void> {
  // Cleaned up once, however the demo ends: the embedded redis-server runs in its own process
  // group and would otherwise outlive an interrupted demo, and the temporary directory would stay.
  const cleanup = new Cleanup();
  const logs: string[] = [];
  const disarm = exitOnDeadlineOrSignal({
    cleanup,
    deadlineMs: OVERALL_MS,
    deadlineMessage: `The demo did not finish within ${OVERALL_MS / 1000} s`,
    noun: "the demo",
  });

  let failure: unknown;
  try {
    await run(cleanup, logs);
  } catch (err) {
    failure = err;
  }
  const problems = await cleanup.run();
  disarm();

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
