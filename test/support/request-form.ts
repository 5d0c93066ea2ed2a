import { expect } from "vitest";
import {
  CHANGE_ACTION_ID,
  CHANGE_BLOCK_ID,
  CONNECTION_ACTION_ID,
  REASON_ACTION_ID,
  REASON_BLOCK_ID,
  REQUEST_MODAL_CALLBACK_ID,
  REQUEST_SHORTCUT_CALLBACK_ID,
  TENANT_ACTION_ID,
  TENANT_BLOCK_ID,
} from "../../src/slack/views/request-modal.js";
import {
  blockSuggestionPayload,
  globalShortcutPayload,
  modalSelectPayload,
  type SlackPostResult,
  sendBlockSuggestion,
  sendGlobalShortcut,
  sendModalSelect,
  sendViewSubmission,
  type ViewStateInput,
  viewSubmissionPayload,
} from "./slack-requests.js";
import { SIGNING_SECRET, type Stack, TEAM_ID } from "./stack.js";

/**
 * The request form as a person sees and fills it: opened by the command or the shortcut, a
 * tenant or a change picked (the bot redraws it), typed into (the type-ahead), submitted. Each
 * step goes to the bot as Slack sends it, over HTTP or the socket as the stack runs.
 */

export interface FormBlock {
  type: string;
  block_id?: string;
  optional?: boolean;
  dispatch_action?: boolean;
  label?: { text: string };
  hint?: { text: string };
  elements?: { text?: string }[];
  element?: {
    type: string;
    action_id: string;
    min_query_length?: number;
    options?: { text: { text: string }; value: string }[];
    initial_option?: { text: { text: string }; value: string };
  };
}

/** An open form: the view as the bot last drew it, and what the person has filled in so far. */
export interface Form {
  viewId: string;
  hash: string;
  title: string;
  privateMetadata: string;
  blocks: FormBlock[];
  values: ViewStateInput;
}

export interface Suggested {
  status: number;
  options: { text: string; value: string }[];
  /** From sending to the answer. */
  ms: number;
}

function formOf(view: Record<string, unknown>, values: ViewStateInput = {}): Form {
  const blocks = (view.blocks ?? []) as FormBlock[];
  const shown = new Set(blocks.map((b) => b.block_id));
  // As Slack does: a field keeps its state across a redraw only if its block is still there;
  // an initial option is the field's state until the person picks another.
  const kept: ViewStateInput = Object.fromEntries(
    Object.entries(values).filter(([block]) => shown.has(block)),
  );
  for (const b of blocks) {
    const initial = b.element?.initial_option;
    if (b.block_id && b.element && initial && !kept[b.block_id]) {
      kept[b.block_id] = {
        [b.element.action_id]: {
          type: b.element.type,
          selected_option: {
            text: { type: "plain_text", text: initial.text.text },
            value: initial.value,
          },
        },
      };
    }
  }
  return {
    viewId: String(view.id),
    hash: String(view.hash),
    title: String((view.title as { text?: string } | undefined)?.text ?? ""),
    privateMetadata: String(view.private_metadata ?? ""),
    blocks,
    values: kept,
  };
}

export function block(form: Form, blockId: string): FormBlock | undefined {
  return form.blocks.find((b) => b.block_id === blockId);
}

/** The connection picker's block (its id names the tenant), if the form shows one. */
export function connectionBlock(form: Form): FormBlock | undefined {
  return form.blocks.find((b) => b.element?.action_id === CONNECTION_ACTION_ID);
}

/** Waits for the bot to open a form after `before` views.open calls, and returns it. */
async function opened(s: Stack, before: number): Promise<Form> {
  await s.slack.waitFor(() => s.slack.callsTo("views.open")[before], {
    what: "the request form to open",
  });
  const view = s.slack
    .views()
    .filter((v) => v.callback_id === REQUEST_MODAL_CALLBACK_ID)
    .at(-1);
  expect(view, "the request form").toBeDefined();
  return formOf(view as Record<string, unknown>);
}

/** Types `/promote-connection <text>` and returns the form it opens. */
export async function openFormByCommand(
  s: Stack,
  user: string,
  text = "",
): Promise<{ form: Form; ack: string; status: number; responseUrl: string }> {
  const before = s.slack.callsTo("views.open").length;
  const typed = await s.command(user, text);
  return { ...typed, form: await opened(s, before) };
}

/** Sends the global shortcut as `user`. */
export async function useShortcut(s: Stack, user: string): Promise<SlackPostResult> {
  const input = { user_id: user, team_id: TEAM_ID, callback_id: REQUEST_SHORTCUT_CALLBACK_ID };
  if (s.socketMode) {
    const ack = await s.slack.sendEnvelope("interactive", globalShortcutPayload(input));
    return { status: 200, body: JSON.stringify(ack.payload ?? {}), headers: {} };
  }
  return sendGlobalShortcut(s.eventsUrl, SIGNING_SECRET, input);
}

/** Uses the shortcut and returns the form it opens. */
export async function openFormByShortcut(s: Stack, user: string): Promise<Form> {
  const before = s.slack.callsTo("views.open").length;
  const res = await useShortcut(s, user);
  expect(res.status).toBe(200);
  return opened(s, before);
}

function openView(form: Form) {
  return {
    view_id: form.viewId,
    hash: form.hash,
    callback_id: REQUEST_MODAL_CALLBACK_ID,
    private_metadata: form.privateMetadata,
    blocks: form.blocks,
    values: form.values,
  };
}

/** Picks a tenant or a change; resolves with the form as the bot redraws it. */
export async function pick(
  s: Stack,
  user: string,
  form: Form,
  field: "tenant" | "change",
  value: string,
): Promise<Form> {
  const [blockId, actionId] =
    field === "tenant" ? [TENANT_BLOCK_ID, TENANT_ACTION_ID] : [CHANGE_BLOCK_ID, CHANGE_ACTION_ID];
  const element = block(form, blockId)?.element;
  const option = element?.options?.find((o) => o.value === value);
  expect(option, `${field} option ${value}`).toBeDefined();
  const selected = { text: option?.text.text ?? value, value };
  const input = {
    user_id: user,
    team_id: TEAM_ID,
    action_id: actionId,
    block_id: blockId,
    element: element?.type ?? "static_select",
    selected,
    view: openView(form),
  };
  const before = s.slack.callsTo("views.update").length;
  if (s.socketMode) await s.slack.sendEnvelope("interactive", modalSelectPayload(input));
  else expect((await sendModalSelect(s.eventsUrl, SIGNING_SECRET, input)).status).toBe(200);
  await s.slack.waitFor(() => s.slack.callsTo("views.update")[before], {
    what: `the form redrawn for ${field} ${value}`,
  });
  const values: ViewStateInput = {
    ...form.values,
    [blockId]: {
      [actionId]: {
        type: input.element,
        selected_option: { text: { type: "plain_text", text: selected.text }, value },
      },
    },
  };
  return formOf(s.slack.view(form.viewId) as Record<string, unknown>, values);
}

/** Types `query` in the connection picker: the options the bot answers with. */
export async function suggest(
  s: Stack,
  user: string,
  form: Form,
  query: string,
  opts: { userTeam?: string } = {},
): Promise<Suggested> {
  const picker = connectionBlock(form);
  expect(picker, "a connection picker in the form").toBeDefined();
  const input = {
    user_id: user,
    team_id: TEAM_ID,
    user_team_id: opts.userTeam,
    action_id: CONNECTION_ACTION_ID,
    block_id: picker?.block_id ?? "",
    value: query,
    view: openView(form),
  };
  const started = performance.now();
  let status = 200;
  let body: unknown;
  if (s.socketMode) {
    body = (await s.slack.sendEnvelope("interactive", blockSuggestionPayload(input))).payload;
  } else {
    const res = await sendBlockSuggestion(s.eventsUrl, SIGNING_SECRET, input);
    status = res.status;
    body = res.body ? JSON.parse(res.body) : undefined;
  }
  const ms = performance.now() - started;
  const options = ((body as { options?: { text: { text: string }; value: string }[] })?.options ??
    []) as { text: { text: string }; value: string }[];
  return { status, options: options.map((o) => ({ text: o.text.text, value: o.value })), ms };
}

/**
 * Submits the form with a connection picked (its id, and the text the picker showed) and a
 * reason typed; resolves with Slack's answer: `errors` by block when the form stays open.
 */
export async function submit(
  s: Stack,
  user: string,
  form: Form,
  fill: { connection?: string; reason?: string; userTeam?: string | null },
): Promise<{ status: number; errors: Record<string, string> | undefined }> {
  const values: ViewStateInput = { ...form.values };
  const picker = connectionBlock(form);
  if (fill.connection !== undefined && picker?.block_id) {
    values[picker.block_id] = {
      [CONNECTION_ACTION_ID]: {
        type: "external_select",
        selected_option: {
          text: { type: "plain_text", text: fill.connection },
          value: fill.connection,
        },
      },
    };
  }
  if (fill.reason !== undefined) {
    values[REASON_BLOCK_ID] = {
      [REASON_ACTION_ID]: { type: "plain_text_input", value: fill.reason },
    };
  }
  const input = {
    user_id: user,
    team_id: TEAM_ID,
    user_team_id: fill.userTeam,
    callback_id: REQUEST_MODAL_CALLBACK_ID,
    private_metadata: form.privateMetadata,
    blocks: form.blocks,
    values,
    view_id: form.viewId,
  };
  let status = 200;
  let body = "";
  if (s.socketMode) {
    const ack = await s.slack.sendEnvelope("interactive", viewSubmissionPayload(input));
    body = ack.payload && Object.keys(ack.payload).length > 0 ? JSON.stringify(ack.payload) : "";
  } else {
    const res = await sendViewSubmission(s.eventsUrl, SIGNING_SECRET, input);
    status = res.status;
    body = res.body;
  }
  const answer = body ? (JSON.parse(body) as { response_action?: string; errors?: never }) : {};
  return {
    status,
    errors: answer.response_action === "errors" ? answer.errors : undefined,
  };
}

/** Waits for a direct message to `user` matching `match`. */
export function waitForDm(s: Stack, user: string, match: RegExp): Promise<string> {
  return s.slack.waitFor(() => s.slack.messages(user).find((m) => match.test(m.text ?? ""))?.text, {
    what: `a direct message to ${user} matching ${match}`,
  });
}
