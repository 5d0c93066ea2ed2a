/**
 * Sends requests to a running Bolt HTTP app the way Slack does: form-encoded bodies signed with
 * `X-Slack-Signature: v0=hex(HMAC-SHA256(signingSecret, "v0:<ts>:<rawBody>"))` and
 * `X-Slack-Request-Timestamp: <unix seconds>`.
 *
 * Note: Bolt's HTTPReceiver compares the content type with `===`
 * "application/x-www-form-urlencoded"; a `; charset=...` suffix makes it JSON.parse a form body
 * and answer 400. Slack sends the bare type, and so do these helpers.
 */
import { createHmac } from "node:crypto";
import { Agent, type Dispatcher, request } from "undici";

export const FORM_CONTENT_TYPE = "application/x-www-form-urlencoded";

/** Defaults that make the payloads look like Slack's. */
export const SLACK_REQUEST_DEFAULTS = {
  verificationToken: "legacy-verification-token",
  teamDomain: "emulated",
  apiAppId: "A0TEST001",
  channelId: "C0APPROVAL",
  channelName: "approvals",
} as const;

export interface SendOptions {
  /** unix seconds to sign with and send; default now */
  timestampSec?: number;
  /** send this X-Slack-Signature instead of the correct one (bad-signature tests) */
  signature?: string;
  /** default 5000 ms, for headers and for body */
  timeoutMs?: number;
  /** default: a keep-alive Agent owned by this module (see closeSlackRequestAgent) */
  dispatcher?: Dispatcher;
}

export interface SlackPostResult {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

let agent: Agent | undefined;

function defaultAgent(): Agent {
  agent ??= new Agent({ keepAliveTimeout: 1000, connections: 256 });
  return agent;
}

/** Closes the module's Agent (optional: idle sockets are closed by servers on stop anyway). */
export async function closeSlackRequestAgent(): Promise<void> {
  const a = agent;
  agent = undefined;
  await a?.close();
}

export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestampSec: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const hex = createHmac("sha256", signingSecret)
    .update(`v0:${timestampSec}:${rawBody}`)
    .digest("hex");
  return {
    "x-slack-request-timestamp": String(timestampSec),
    "x-slack-signature": `v0=${hex}`,
  };
}

export async function postSigned(
  url: string,
  signingSecret: string,
  rawBody: string,
  contentType: string,
  opts: SendOptions = {},
): Promise<SlackPostResult> {
  const headers = signSlackRequest(signingSecret, rawBody, opts.timestampSec);
  if (opts.signature !== undefined) headers["x-slack-signature"] = opts.signature;
  const timeout = opts.timeoutMs ?? 5000;
  const res = await request(url, {
    method: "POST",
    headers: {
      ...headers,
      "content-type": contentType,
      "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    },
    body: rawBody,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    dispatcher: opts.dispatcher ?? defaultAgent(),
  });
  const body = await res.body.text();
  return { status: res.statusCode, body, headers: res.headers };
}

function randomId(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 12)}`;
}

function triggerId(): string {
  return `${Math.floor(Math.random() * 1e13)}.${Math.floor(Math.random() * 1e12)}.${Math.random().toString(16).slice(2, 34)}`;
}

function actionTs(): string {
  const now = Date.now();
  return `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, "0")}`;
}

export interface SlashCommandInput {
  /** default "/promote-connection" */
  command?: string;
  text: string;
  user_id: string;
  user_name?: string;
  /**
   * The workspace the command was typed in. Slack always sends it; null leaves it (and
   * team_domain) out, for tests of a payload that names no workspace.
   */
  team_id: string | null;
  enterprise_id?: string;
  channel_id?: string;
  channel_name?: string;
  response_url: string;
  trigger_id?: string;
}

/** The form body Slack sends for a slash command. */
export function slashCommandBody(input: SlashCommandInput): string {
  const form = new URLSearchParams();
  form.set("token", SLACK_REQUEST_DEFAULTS.verificationToken);
  if (input.team_id !== null) {
    form.set("team_id", input.team_id);
    form.set("team_domain", SLACK_REQUEST_DEFAULTS.teamDomain);
  }
  if (input.enterprise_id) {
    form.set("enterprise_id", input.enterprise_id);
    form.set("enterprise_name", "Emulated Enterprise");
  }
  form.set("channel_id", input.channel_id ?? SLACK_REQUEST_DEFAULTS.channelId);
  form.set("channel_name", input.channel_name ?? SLACK_REQUEST_DEFAULTS.channelName);
  form.set("user_id", input.user_id);
  form.set("user_name", input.user_name ?? input.user_id.toLowerCase());
  form.set("command", input.command ?? "/promote-connection");
  form.set("text", input.text);
  form.set("api_app_id", SLACK_REQUEST_DEFAULTS.apiAppId);
  form.set("is_enterprise_install", "false");
  form.set("response_url", input.response_url);
  form.set("trigger_id", input.trigger_id ?? triggerId());
  return form.toString();
}

/**
 * The same fields as a JSON object: the `payload` of a Socket Mode `slash_commands` envelope
 * (Slack sends them there as strings too).
 */
export function slashCommandPayload(input: SlashCommandInput): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(slashCommandBody(input)));
}

export function sendSlashCommand(
  eventsUrl: string,
  signingSecret: string,
  input: SlashCommandInput,
  opts?: SendOptions,
): Promise<SlackPostResult> {
  return postSigned(eventsUrl, signingSecret, slashCommandBody(input), FORM_CONTENT_TYPE, opts);
}

/**
 * Who acts in an interaction payload. `team_id` is the workspace the interaction happened in
 * (`team.id`); `user_team_id` is the acting person's own workspace (`user.team_id`), which Slack
 * sets to another workspace for a Slack Connect user in a shared channel, and to the
 * organization (E…) in an Enterprise organization. Default: `team_id`. null leaves it out, for
 * tests of a payload that does not say where its user comes from.
 */
interface InteractionActor {
  user_id: string;
  user_name?: string;
  team_id: string;
  user_team_id?: string | null;
}

export interface BlockActionInput extends InteractionActor {
  enterprise_id?: string;
  action_id: string;
  value: string;
  block_id?: string;
  response_url: string;
  channel_id?: string;
  message_ts?: string;
  trigger_id?: string;
  /** fields of the message that carries the button (text, blocks, user, bot_id...) */
  message?: Record<string, unknown>;
  /** "home": the button sits on the App Home tab (a view: no channel, message or response URL). */
  surface?: "message" | "home";
}

/** The `user` object of interactivity payloads. */
function payloadUser(input: InteractionActor) {
  const name = input.user_name ?? input.user_id.toLowerCase();
  const teamId = input.user_team_id === undefined ? input.team_id : input.user_team_id;
  return {
    id: input.user_id,
    username: name,
    name,
    ...(teamId === null ? {} : { team_id: teamId }),
  };
}

/** The `block_actions` payload object Slack sends for a button click. */
export function blockActionPayload(input: BlockActionInput): Record<string, unknown> {
  const channelId = input.channel_id ?? SLACK_REQUEST_DEFAULTS.channelId;
  const messageTs = input.message_ts ?? "1700000001.000100";
  const blockId = input.block_id ?? randomId("b");
  const action = {
    type: "button",
    action_id: input.action_id,
    block_id: blockId,
    text: { type: "plain_text", text: input.action_id, emoji: true },
    value: input.value,
    action_ts: actionTs(),
  };
  if (input.surface === "home") {
    const viewId = randomId("V");
    return {
      type: "block_actions",
      user: payloadUser(input),
      api_app_id: SLACK_REQUEST_DEFAULTS.apiAppId,
      token: SLACK_REQUEST_DEFAULTS.verificationToken,
      container: { type: "view", view_id: viewId },
      trigger_id: input.trigger_id ?? triggerId(),
      team: { id: input.team_id, domain: SLACK_REQUEST_DEFAULTS.teamDomain },
      enterprise: null,
      is_enterprise_install: false,
      view: { id: viewId, type: "home", blocks: [], private_metadata: "", callback_id: "" },
      actions: [action],
    };
  }
  return {
    type: "block_actions",
    user: payloadUser(input),
    api_app_id: SLACK_REQUEST_DEFAULTS.apiAppId,
    token: SLACK_REQUEST_DEFAULTS.verificationToken,
    container: {
      type: "message",
      message_ts: messageTs,
      channel_id: channelId,
      is_ephemeral: false,
    },
    trigger_id: input.trigger_id ?? triggerId(),
    team: { id: input.team_id, domain: SLACK_REQUEST_DEFAULTS.teamDomain },
    enterprise: input.enterprise_id
      ? { id: input.enterprise_id, name: "Emulated Enterprise" }
      : null,
    is_enterprise_install: false,
    channel: { id: channelId, name: SLACK_REQUEST_DEFAULTS.channelName },
    message: {
      type: "message",
      subtype: "bot_message",
      text: "",
      ts: messageTs,
      ...input.message,
    },
    state: { values: {} },
    response_url: input.response_url,
    actions: [action],
  };
}

export function sendBlockAction(
  eventsUrl: string,
  signingSecret: string,
  input: BlockActionInput,
  opts?: SendOptions,
): Promise<SlackPostResult> {
  return postPayload(eventsUrl, signingSecret, blockActionPayload(input), opts);
}

/** Interactivity requests (clicks, modal submissions) arrive as one form field: payload=<JSON>. */
function postPayload(
  eventsUrl: string,
  signingSecret: string,
  payload: Record<string, unknown>,
  opts?: SendOptions,
): Promise<SlackPostResult> {
  const body = new URLSearchParams({ payload: JSON.stringify(payload) });
  return postSigned(eventsUrl, signingSecret, body.toString(), FORM_CONTENT_TYPE, opts);
}

/** One field's state in a modal, as `view.state.values[block_id][action_id]` carries it. */
export interface ViewStateValueInput {
  type: string;
  value?: string | null;
  selected_option?: {
    text: { type: "plain_text"; text: string; emoji?: boolean };
    value: string;
  } | null;
}

export type ViewStateInput = Record<string, Record<string, ViewStateValueInput>>;

export interface ViewSubmissionInput extends InteractionActor {
  enterprise_id?: string;
  callback_id: string;
  private_metadata: string;
  values: ViewStateInput;
  /** The blocks of the view as it was opened (default none). */
  blocks?: unknown[];
  trigger_id?: string;
  view_id?: string;
}

/** A modal as interaction payloads carry it: the view as opened, with the fields' state. */
function viewOfPayload(input: {
  team_id: string;
  view_id?: string;
  callback_id: string;
  private_metadata: string;
  values: ViewStateInput;
  blocks?: unknown[];
  hash?: string;
}): Record<string, unknown> {
  const viewId = input.view_id ?? randomId("V").toUpperCase();
  return {
    id: viewId,
    team_id: input.team_id,
    type: "modal",
    blocks: input.blocks ?? [],
    private_metadata: input.private_metadata,
    callback_id: input.callback_id,
    state: { values: input.values },
    hash: input.hash ?? randomId("h"),
    title: { type: "plain_text", text: "Modal", emoji: true },
    clear_on_close: false,
    notify_on_close: false,
    close: null,
    submit: { type: "plain_text", text: "Submit", emoji: true },
    previous_view_id: null,
    root_view_id: viewId,
    app_id: SLACK_REQUEST_DEFAULTS.apiAppId,
    external_id: "",
    app_installed_team_id: input.team_id,
    bot_id: "BBOT00001",
  };
}

/** The `view_submission` payload object Slack sends when a modal is submitted. */
export function viewSubmissionPayload(input: ViewSubmissionInput): Record<string, unknown> {
  return {
    type: "view_submission",
    team: { id: input.team_id, domain: SLACK_REQUEST_DEFAULTS.teamDomain },
    user: payloadUser(input),
    api_app_id: SLACK_REQUEST_DEFAULTS.apiAppId,
    token: SLACK_REQUEST_DEFAULTS.verificationToken,
    trigger_id: input.trigger_id ?? triggerId(),
    view: viewOfPayload(input),
    response_urls: [],
    enterprise: input.enterprise_id
      ? { id: input.enterprise_id, name: "Emulated Enterprise" }
      : null,
    is_enterprise_install: false,
  };
}

export function sendViewSubmission(
  eventsUrl: string,
  signingSecret: string,
  input: ViewSubmissionInput,
  opts?: SendOptions,
): Promise<SlackPostResult> {
  return postPayload(eventsUrl, signingSecret, viewSubmissionPayload(input), opts);
}

/** An open modal, as a person sees it when they pick, type or submit in it. */
export interface OpenViewInput {
  view_id: string;
  hash?: string;
  callback_id: string;
  private_metadata: string;
  blocks?: unknown[];
  /** The fields' state so far. */
  values: ViewStateInput;
}

export interface BlockSuggestionInput extends InteractionActor {
  enterprise_id?: string;
  action_id: string;
  block_id: string;
  /** What was typed so far. */
  value: string;
  view: OpenViewInput;
}

/**
 * The `block_suggestion` payload Slack sends when someone opens or types in an external_select
 * of a modal; the answer, in the HTTP response, is `{options}` or `{option_groups}`.
 */
export function blockSuggestionPayload(input: BlockSuggestionInput): Record<string, unknown> {
  return {
    type: "block_suggestion",
    user: payloadUser(input),
    container: { type: "view", view_id: input.view.view_id },
    api_app_id: SLACK_REQUEST_DEFAULTS.apiAppId,
    token: SLACK_REQUEST_DEFAULTS.verificationToken,
    action_id: input.action_id,
    block_id: input.block_id,
    value: input.value,
    team: { id: input.team_id, domain: SLACK_REQUEST_DEFAULTS.teamDomain },
    enterprise: input.enterprise_id
      ? { id: input.enterprise_id, name: "Emulated Enterprise" }
      : null,
    is_enterprise_install: false,
    view: viewOfPayload({ team_id: input.team_id, ...input.view }),
  };
}

export function sendBlockSuggestion(
  eventsUrl: string,
  signingSecret: string,
  input: BlockSuggestionInput,
  opts?: SendOptions,
): Promise<SlackPostResult> {
  return postPayload(eventsUrl, signingSecret, blockSuggestionPayload(input), opts);
}

export interface ModalSelectInput extends InteractionActor {
  action_id: string;
  block_id: string;
  /** "static_select", "radio_buttons", … */
  element: string;
  selected: { text: string; value: string };
  view: OpenViewInput;
  trigger_id?: string;
}

/**
 * The `block_actions` payload Slack sends when someone picks an option of a select or radio
 * buttons in a modal input block with `dispatch_action`: the view comes along, its state holding
 * the pick already.
 */
export function modalSelectPayload(input: ModalSelectInput): Record<string, unknown> {
  const selected_option = {
    text: { type: "plain_text", text: input.selected.text, emoji: true },
    value: input.selected.value,
  };
  const values: ViewStateInput = {
    ...input.view.values,
    [input.block_id]: {
      [input.action_id]: { type: input.element, selected_option } as ViewStateValueInput,
    },
  };
  return {
    type: "block_actions",
    user: payloadUser(input),
    api_app_id: SLACK_REQUEST_DEFAULTS.apiAppId,
    token: SLACK_REQUEST_DEFAULTS.verificationToken,
    container: { type: "view", view_id: input.view.view_id },
    trigger_id: input.trigger_id ?? triggerId(),
    team: { id: input.team_id, domain: SLACK_REQUEST_DEFAULTS.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    view: viewOfPayload({ team_id: input.team_id, ...input.view, values }),
    actions: [
      {
        type: input.element,
        action_id: input.action_id,
        block_id: input.block_id,
        selected_option,
        action_ts: actionTs(),
      },
    ],
    state: { values },
  };
}

export function sendModalSelect(
  eventsUrl: string,
  signingSecret: string,
  input: ModalSelectInput,
  opts?: SendOptions,
): Promise<SlackPostResult> {
  return postPayload(eventsUrl, signingSecret, modalSelectPayload(input), opts);
}

export interface ShortcutInput extends InteractionActor {
  callback_id: string;
  trigger_id?: string;
}

/** The payload Slack sends for a global shortcut: no channel, no response URL. */
export function globalShortcutPayload(input: ShortcutInput): Record<string, unknown> {
  const user = payloadUser(input);
  return {
    type: "shortcut",
    token: SLACK_REQUEST_DEFAULTS.verificationToken,
    action_ts: actionTs(),
    team: { id: input.team_id, domain: SLACK_REQUEST_DEFAULTS.teamDomain },
    user: { id: user.id, username: user.username, team_id: user.team_id },
    is_enterprise_install: false,
    enterprise: null,
    callback_id: input.callback_id,
    trigger_id: input.trigger_id ?? triggerId(),
  };
}

export function sendGlobalShortcut(
  eventsUrl: string,
  signingSecret: string,
  input: ShortcutInput,
  opts?: SendOptions,
): Promise<SlackPostResult> {
  return postPayload(eventsUrl, signingSecret, globalShortcutPayload(input), opts);
}

export interface EventInput {
  team_id: string;
  /** The event itself, e.g. { type: "app_home_opened", user, tab: "home", channel } */
  event: Record<string, unknown>;
}

/**
 * An Events API `event_callback` object: the JSON body Slack posts to the request URL, and the
 * `payload` of a Socket Mode `events_api` envelope.
 */
export function eventCallbackPayload(input: EventInput): Record<string, unknown> {
  return {
    token: SLACK_REQUEST_DEFAULTS.verificationToken,
    team_id: input.team_id,
    api_app_id: SLACK_REQUEST_DEFAULTS.apiAppId,
    event: { event_ts: actionTs(), ...input.event },
    type: "event_callback",
    event_id: randomId("Ev"),
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [
      {
        enterprise_id: null,
        team_id: input.team_id,
        user_id: "UBOT00001",
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
}

/** An Events API callback (JSON body), as Slack sends it to the request URL. */
export function sendEvent(
  eventsUrl: string,
  signingSecret: string,
  input: EventInput,
  opts?: SendOptions,
): Promise<SlackPostResult> {
  const body = JSON.stringify(eventCallbackPayload(input));
  return postSigned(eventsUrl, signingSecret, body, "application/json", opts);
}
