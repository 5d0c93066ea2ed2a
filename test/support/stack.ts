import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { expect, inject } from "vitest";
import { loadConfig } from "../../src/config.js";
import type { HttpLimits } from "../../src/http/limits.js";
import { createLogger } from "../../src/log.js";
import { createRedisClient, type RedisClient } from "../../src/redis.js";
import { type ChangeRequest, FINAL_STATES, OPEN_STATES } from "../../src/requests/model.js";
import { RequestStore } from "../../src/requests/store.js";
import { type Role, type Running, start } from "../../src/runtime/index.js";
import { DENY_MODAL_CALLBACK_ID } from "../../src/slack/views/deny-modal.js";
import {
  type Auth0Emulator,
  type Auth0EmulatorOptions,
  type EmulatedConnection,
  startAuth0Emulator,
} from "./auth0-emulator.js";
import { type SlackEmulator, startSlackEmulator } from "./slack-emulator.js";
import {
  type BlockActionInput,
  blockActionPayload,
  type EventInput,
  eventCallbackPayload,
  type SlackPostResult,
  type SlashCommandInput,
  sendBlockAction,
  sendEvent,
  sendSlashCommand,
  sendViewSubmission,
  slashCommandPayload,
  type ViewSubmissionInput,
  viewSubmissionPayload,
} from "./slack-requests.js";

export const TEAM_ID = "T0TEST001";
export const APPROVAL_CHANNEL = "CAPPROVALS";
export const AUDIT_CHANNEL = "CAUDITLOG1";
export const REQUESTER = "UREQUESTER";
export const APPROVER = "UAPPROVER1";
export const APPROVER_2 = "UAPPROVER2";
export const GROUP_APPROVER = "UGROUPAPP1";
export const APPROVER_GROUP = "SAPPROVERS";
export const BYSTANDER = "UBYSTANDER";
export const SIGNING_SECRET = "test-signing-secret-8f2a9c";

export const ACME: EmulatedConnection = {
  id: "con_Acme000000000001",
  name: "acme-db",
  display_name: "Acme Employees",
  strategy: "auth0",
  is_domain_connection: false,
};
export const ALREADY_DOMAIN: EmulatedConnection = {
  id: "con_Dom0000000000001",
  name: "shared-google",
  display_name: "Google",
  strategy: "google-oauth2",
  is_domain_connection: true,
};

/** Everything a test of the whole bot needs: emulators, the running bot, and a way to talk to it. */
export interface Stack {
  slack: SlackEmulator;
  auth0: Auth0Emulator;
  env: Record<string, string>;
  /** POST /slack/events on the bot's PORT (HTTP mode); its origin serves /healthz in both modes. */
  eventsUrl: string;
  /** The origin serving /metrics and /readyz: METRICS_PORT's when set, else the same as eventsUrl's. */
  metricsOrigin: string;
  /** Whether the bot runs in Socket Mode (`startStack({ socketMode: true })`). */
  socketMode: boolean;
  /** Every log line the bot wrote, raw, to check for leaked secrets. */
  logs: string[];
  /**
   * Types a slash command as `user`. `ack` is the text of the immediate answer (the HTTP response
   * to Slack); later replies go to `responseUrl`.
   *
   * In Socket Mode this and the other helpers below send envelopes on the socket instead, and
   * answer as the HTTP receiver would: status 200 once the app acked (they throw if it does not
   * within Slack's 3 s), with the ack's payload as the body.
   */
  command(
    user: string,
    text: string,
    opts?: { team?: string | null; enterprise?: string },
  ): Promise<{ status: number; ack: string; responseUrl: string }>;
  /**
   * `team` is the workspace the button is clicked in (`team.id`); `userTeam` the clicker's own
   * (`user.team_id`, default `team`): another for a Slack Connect user, null for none.
   */
  click(
    user: string,
    action: "approve_request" | "deny_request" | "request_enable_dcr" | "request_revert",
    requestId: string,
    opts?: { team?: string; userTeam?: string | null; surface?: "message" | "home" },
  ): Promise<{ status: number; responseUrl: string }>;
  /**
   * Clicks Deny, then submits the modal it opened with `reason` (after `beforeSubmit`, if given:
   * what happens while the approver types).
   */
  deny(
    user: string,
    requestId: string,
    reason: string,
    beforeSubmit?: () => Promise<void>,
  ): Promise<SlackPostResult>;
  /** Submits the deny dialog of `requestId` with `reason`, as if it had been opened. */
  submitDenyReason(
    user: string,
    requestId: string,
    reason: string,
    opts?: { userTeam?: string | null },
  ): Promise<SlackPostResult>;
  /** Delivers an Events API event (`{type: "member_joined_channel", …}`) to the bot. */
  event(event: Record<string, unknown>): Promise<SlackPostResult>;
  /** Opens the App Home tab as `user`; resolves with the view Slack was asked to publish. */
  openHome(user: string): Promise<{ blocks: unknown[] }>;
  /** Texts of the replies posted to a response URL. */
  replies(responseUrl: string): string[];
  /** Waits for the reply to a command that follows the immediate "Looking up…" ack. */
  waitForReply(responseUrl: string, match: RegExp): Promise<string>;
  /** The request id carried by the newest approval message. */
  latestRequestId(): Promise<string>;
  auditTexts(): string[];
  /** Every request the bot has stored in Redis, whatever its state, oldest first. */
  storedRequests(): Promise<ChangeRequest[]>;
  restart(role?: Role): Promise<void>;
  /** Stops the bot and worker only; the emulators keep running (see what the bot left behind). */
  stopRuntime(): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  role?: Role;
  auth0?: Auth0EmulatorOptions;
  env?: Record<string, string>;
  usergroups?: Record<string, string[]>;
  /**
   * Socket Mode: SLACK_APP_TOKEN is the emulator's app token and SLACK_SIGNING_SECRET is unset
   * (both still overridable through `env`); the helpers talk to the bot over the socket.
   */
  socketMode?: boolean;
  /** The HTTP server's limits, e.g. timeouts short enough for a test to wait them out. */
  http?: Partial<HttpLimits>;
  /** The wait between tries while Auth0 is down, short enough for a test to sit through. */
  retryBackoff?: { delay: number; maxDelay: number };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const slack = await startSlackEmulator({
    teamId: TEAM_ID,
    usergroups: options.usergroups ?? { [APPROVER_GROUP]: [GROUP_APPROVER] },
  });
  const auth0 = await startAuth0Emulator({
    connections: [{ ...ACME }, { ...ALREADY_DOMAIN }],
    ...options.auth0,
  });
  const socketMode = options.socketMode ?? false;
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: slack.botToken,
    ...(socketMode
      ? { SLACK_APP_TOKEN: slack.appToken }
      : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
    SLACK_API_URL: slack.apiUrl,
    APPROVAL_CHANNEL_ID: APPROVAL_CHANNEL,
    AUDIT_CHANNEL_ID: AUDIT_CHANNEL,
    APPROVER_USER_IDS: `${APPROVER},${APPROVER_2}`,
    APPROVER_USERGROUP_ID: APPROVER_GROUP,
    AUTH0_DOMAIN: auth0.url,
    AUTH0_CLIENT_ID: auth0.clientId,
    AUTH0_CLIENT_SECRET: auth0.clientSecret,
    AUTH0_MAX_REQUESTS_PER_SECOND: "50",
    REDIS_URL: inject("redisUrl"),
    REDIS_PREFIX: `test-${randomBytes(5).toString("hex")}`,
    PORT: "0",
    LOG_LEVEL: "debug",
    ...options.env,
  };
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger({ level: "debug", destination: sink });

  let running: Running | undefined;
  let eventsUrl = "";
  let metricsOrigin = "";
  let redis: RedisClient | undefined;
  const boot = async (role: Role) => {
    running = await start(loadConfig(env), {
      role,
      logger,
      host: "127.0.0.1",
      httpLimits: options.http,
      retryBackoff: options.retryBackoff,
    });
    eventsUrl = `http://127.0.0.1:${running.port}/slack/events`;
    metricsOrigin = `http://127.0.0.1:${running.metricsPort ?? running.port}`;
  };
  await boot(options.role ?? "all");

  /** Socket Mode: the envelope's ack, shaped like the HTTP receiver's response. */
  const viaSocket = async (
    type: "slash_commands" | "interactive" | "events_api",
    payload: Record<string, unknown>,
  ): Promise<SlackPostResult> => {
    const ack = await slack.sendEnvelope(type, payload);
    const answered = ack.payload && Object.keys(ack.payload).length > 0;
    return { status: 200, body: answered ? JSON.stringify(ack.payload) : "", headers: {} };
  };
  const deliver = {
    command: (input: SlashCommandInput) =>
      socketMode
        ? viaSocket("slash_commands", slashCommandPayload(input))
        : sendSlashCommand(eventsUrl, SIGNING_SECRET, input),
    action: (input: BlockActionInput) =>
      socketMode
        ? viaSocket("interactive", blockActionPayload(input))
        : sendBlockAction(eventsUrl, SIGNING_SECRET, input),
    submission: (input: ViewSubmissionInput) =>
      socketMode
        ? viaSocket("interactive", viewSubmissionPayload(input))
        : sendViewSubmission(eventsUrl, SIGNING_SECRET, input),
    event: (input: EventInput) =>
      socketMode
        ? viaSocket("events_api", eventCallbackPayload(input))
        : sendEvent(eventsUrl, SIGNING_SECRET, input),
  };

  const stack: Stack = {
    slack,
    auth0,
    env,
    logs,
    get eventsUrl() {
      return eventsUrl;
    },
    get metricsOrigin() {
      return metricsOrigin;
    },
    socketMode,
    async command(user, text, opts) {
      const responseUrl = slack.responseUrl();
      const res = await deliver.command({
        text,
        user_id: user,
        team_id: opts?.team === undefined ? TEAM_ID : opts.team,
        enterprise_id: opts?.enterprise,
        channel_id: "CGENERAL01",
        response_url: responseUrl,
      });
      const ack = res.body ? String((JSON.parse(res.body) as { text?: string }).text ?? "") : "";
      return { status: res.status, ack, responseUrl };
    },
    async click(user, action, requestId, opts) {
      const responseUrl = slack.responseUrl();
      const approval = approvalMessages(slack).at(-1);
      const res = await deliver.action({
        user_id: user,
        team_id: opts?.team ?? TEAM_ID,
        user_team_id: opts?.userTeam,
        action_id: action,
        value: requestId,
        block_id: `decision_${requestId}`,
        response_url: responseUrl,
        channel_id: APPROVAL_CHANNEL,
        message_ts: approval?.ts,
        surface: opts?.surface,
      });
      return { status: res.status, responseUrl };
    },
    async deny(user, requestId, reason, beforeSubmit) {
      const opened = slack.callsTo("views.open").length;
      const click = await stack.click(user, "deny_request", requestId);
      expect(click.status).toBe(200);
      const call = await slack.waitFor(() => slack.callsTo("views.open")[opened], {
        what: "the deny dialog",
      });
      const view = call.args.view as { private_metadata: string };
      await beforeSubmit?.();
      return stack.submitDenyReason(user, view.private_metadata, reason);
    },
    submitDenyReason(user, requestId, reason, opts) {
      return deliver.submission({
        user_id: user,
        team_id: TEAM_ID,
        user_team_id: opts?.userTeam,
        callback_id: DENY_MODAL_CALLBACK_ID,
        private_metadata: requestId,
        values: { deny_reason: { reason: { type: "plain_text_input", value: reason } } },
      });
    },
    event(event) {
      return deliver.event({ team_id: TEAM_ID, event: event as EventInput["event"] });
    },
    async openHome(user) {
      const published = slack.callsTo("views.publish").length;
      const res = await deliver.event({
        team_id: TEAM_ID,
        event: { type: "app_home_opened", user, channel: "D0HOME0001", tab: "home" },
      });
      expect(res.status).toBe(200);
      const call = await slack.waitFor(
        () =>
          slack
            .callsTo("views.publish")
            .slice(published)
            .find((c) => c.args.user_id === user),
        { what: `the App Home of ${user}` },
      );
      return call.args.view as { blocks: unknown[] };
    },
    replies(responseUrl) {
      return slack.responsesTo(responseUrl).map((b) => String(b.text ?? ""));
    },
    async waitForReply(responseUrl, match) {
      return slack.waitFor(() => stack.replies(responseUrl).find((t) => match.test(t)), {
        what: `a reply matching ${match}`,
      });
    },
    async latestRequestId() {
      return slack.waitFor(
        () => {
          const message = approvalMessages(slack).at(-1);
          // The message's own id, as its footer gives it ("Request `req_…`"); a reason may quote
          // another request's id.
          return /Request `(req_[0-9a-hjkmnp-tv-z]{10})`/.exec(
            JSON.stringify(message?.blocks ?? []),
          )?.[1];
        },
        { what: "an approval message" },
      );
    },
    auditTexts() {
      return slack.messages(AUDIT_CHANNEL).map((m) => m.text ?? "");
    },
    async storedRequests() {
      // Through the bot's own settings: one node, Sentinel or Cluster, the prefix as it uses it.
      const settings = loadConfig(env).redis;
      redis ??= createRedisClient(settings, "promote-connection:test-inspect");
      const store = new RequestStore(redis, settings.prefix);
      const ids: string[] = [];
      for (const state of [...OPEN_STATES, ...FINAL_STATES]) {
        ids.push(...(await store.idsInState(state, 10_000)));
      }
      return (await store.getMany(ids)).sort((a, b) => a.createdAt - b.createdAt);
    },
    async restart(role) {
      await running?.stop();
      await boot(role ?? options.role ?? "all");
    },
    async stopRuntime() {
      await running?.stop();
      running = undefined;
    },
    async stop() {
      redis?.disconnect();
      await running?.stop();
      await slack.close();
      await auth0.close();
    },
  };
  return stack;
}

/**
 * The approval messages in the approvals channel, oldest first: the channel's own messages, not
 * the replies in their threads (a reminder).
 */
export function approvalMessages(slack: SlackEmulator, channel = APPROVAL_CHANNEL) {
  return slack.messages(channel).filter((m) => !m.thread_ts);
}

/** Asks for a change as `user` (REQUESTER by default) and returns the new request's id. */
export async function ask(s: Stack, text: string, user = REQUESTER): Promise<string> {
  const { status, responseUrl } = await s.command(user, text);
  expect(status).toBe(200);
  await s.waitForReply(responseUrl, /Request `req_/);
  return s.latestRequestId();
}

/** Asks for a change (`text`, ACME by default) and approves it; returns the request's id. */
export async function requestAndApprove(
  s: Stack,
  text: string = ACME.id,
  people: { requester?: string; approver?: string } = {},
): Promise<string> {
  const requestId = await ask(s, text, people.requester);
  const click = await s.click(people.approver ?? APPROVER, "approve_request", requestId);
  expect(click.status).toBe(200);
  return requestId;
}

/** Asserts that a refusal left no trace: no request stored, no approval message, no audit line. */
export async function expectNothingRequested(s: Stack): Promise<void> {
  expect(await s.storedRequests()).toEqual([]);
  expect(s.slack.messages(APPROVAL_CHANNEL)).toHaveLength(0);
  expect(s.auditTexts()).toEqual([]);
}

/** Waits for the audit line of `event` for a request and returns its text. */
export async function waitForAudit(
  s: Stack,
  event: string,
  requestId: string,
  timeoutMs = 15_000,
): Promise<string> {
  return s.slack.waitFor(() => s.auditTexts().find((t) => t.startsWith(`${event} ${requestId}`)), {
    what: `audit line "${event}" for ${requestId}`,
    timeoutMs,
  });
}
