/**
 * The demo's request form: someone types `/promote-connection` alone, picks a tenant, types a few
 * letters in the connection picker, picks one, writes a reason and submits. Each step goes to the
 * bot as Slack sends it; what the person sees is printed.
 */
import type { SlackEmulator } from "../emulators/slack/index.js";
import {
  sendBlockSuggestion,
  sendModalSelect,
  sendSlashCommand,
  sendViewSubmission,
  type ViewStateInput,
} from "../emulators/slack-requests.js";
import { renderBlocks } from "../render.js";

/** The form's field ids, as the bot draws them (src/slack/views/request-modal.ts). */
const FORM = {
  callbackId: "request_change",
  tenant: { block: "tenant", action: "request_tenant" },
  change: { block: "change", action: "request_change_kind" },
  connectionAction: "request_connection",
  reason: { block: "reason", action: "request_reason" },
} as const;

export interface FormStep {
  slack: SlackEmulator;
  eventsUrl: string;
  signingSecret: string;
  user: { id: string; name: string };
  channel: { id: string; name: string };
  names: Readonly<Record<string, string>>;
  say: (line?: string) => void;
  heading: (title: string) => void;
  waitMs: number;
}

interface View {
  id: string;
  hash: string;
  private_metadata: string;
  blocks: { block_id?: string; element?: { action_id?: string; options?: Option[] } }[];
}

interface Option {
  text: { text: string };
  value: string;
}

class FormError extends Error {}

function selected(option: Option, type: string, action: string) {
  return {
    [action]: {
      type,
      selected_option: {
        text: { type: "plain_text" as const, text: option.text.text },
        value: option.value,
      },
    },
  };
}

/**
 * Asks for a change through the form: opens it, picks `tenant`, types `query` in the connection
 * picker (printing the options offered), picks the one named `connection`, writes `reason` and
 * submits. Resolves once the bot has answered the person by direct message.
 */
export async function askWithTheForm(
  step: FormStep,
  want: { tenant: string; query: string; connection: string; reason: string },
): Promise<void> {
  const { slack, eventsUrl, signingSecret, user, say, heading } = step;
  const show = (view: View) => {
    for (const line of renderBlocks(view.blocks, { names: step.names }).split("\n")) {
      say(`  │ ${line}`.trimEnd());
    }
  };
  const newestForm = () =>
    slack
      .views()
      .filter((v) => v.callback_id === FORM.callbackId)
      .at(-1) as View | undefined;

  heading(`${user.name} types, in #${step.channel.name}`);
  say("  /promote-connection");
  const opens = slack.callsTo("views.open").length;
  const command = await sendSlashCommand(eventsUrl, signingSecret, {
    text: "",
    user_id: user.id,
    user_name: user.name,
    team_id: slack.teamId,
    channel_id: step.channel.id,
    channel_name: step.channel.name,
    response_url: slack.responseUrl(),
  });
  if (command.status !== 200) {
    throw new FormError(`the bot answered the command with HTTP ${command.status}`);
  }
  await slack.waitFor(() => slack.callsTo("views.open")[opens], {
    timeoutMs: step.waitMs,
    what: "the request form to open",
  });
  let view = newestForm();
  if (!view) throw new FormError("the bot opened no request form");
  heading(`The bot opens a form (only ${user.name} sees it): “Request a change”`);
  show(view);

  // Picking the tenant redraws the form with that tenant's connection picker.
  const tenantOption = view.blocks
    .find((b) => b.block_id === FORM.tenant.block)
    ?.element?.options?.find((o) => o.value === want.tenant);
  if (!tenantOption) throw new FormError(`the form offers no tenant ${want.tenant}`);
  const state: ViewStateInput = {
    [FORM.change.block]: selected(
      { text: { text: "Promote a connection to domain level" }, value: "promote" },
      "radio_buttons",
      FORM.change.action,
    ),
    [FORM.tenant.block]: selected(tenantOption, "static_select", FORM.tenant.action),
  };
  const open = (v: View) => ({
    view_id: v.id,
    hash: v.hash,
    callback_id: FORM.callbackId,
    private_metadata: v.private_metadata,
    blocks: v.blocks,
    values: state,
  });
  const updates = slack.callsTo("views.update").length;
  await sendModalSelect(eventsUrl, signingSecret, {
    user_id: user.id,
    team_id: slack.teamId,
    action_id: FORM.tenant.action,
    block_id: FORM.tenant.block,
    element: "static_select",
    selected: { text: tenantOption.text.text, value: tenantOption.value },
    view: open(view),
  });
  await slack.waitFor(() => slack.callsTo("views.update")[updates], {
    timeoutMs: step.waitMs,
    what: "the form redrawn for the tenant",
  });
  view = slack.view(view.id) as unknown as View;
  heading(`${user.name} picks ${want.tenant}; the form asks for one of its connections`);
  show(view);

  const picker = view.blocks.find((b) => b.element?.action_id === FORM.connectionAction);
  if (!picker?.block_id) throw new FormError("the form has no connection picker");
  const suggested = await sendBlockSuggestion(eventsUrl, signingSecret, {
    user_id: user.id,
    team_id: slack.teamId,
    action_id: FORM.connectionAction,
    block_id: picker.block_id,
    value: want.query,
    view: open(view),
  });
  const offered = ((JSON.parse(suggested.body || "{}") as { options?: Option[] }).options ??
    []) as Option[];
  heading(`${user.name} types “${want.query}” in the connection picker; it offers`);
  for (const option of offered) say(`  • ${option.text.text}`);
  if (offered.length === 0) say("  (nothing)");
  const chosen = offered.find((o) => o.text.text.startsWith(`${want.connection} `));
  if (!chosen) throw new FormError(`the picker did not offer ${want.connection}`);

  heading(
    `${user.name} picks ${want.connection}, gives the reason “${want.reason}” and clicks Request`,
  );
  const dms = slack.messages(user.id).length;
  const submitted = await sendViewSubmission(eventsUrl, signingSecret, {
    user_id: user.id,
    team_id: slack.teamId,
    callback_id: FORM.callbackId,
    private_metadata: view.private_metadata,
    blocks: view.blocks,
    view_id: view.id,
    values: {
      ...state,
      [picker.block_id]: selected(chosen, "external_select", FORM.connectionAction),
      [FORM.reason.block]: {
        [FORM.reason.action]: { type: "plain_text_input", value: want.reason },
      },
    },
  });
  if (submitted.body) throw new FormError(`the form was refused: ${submitted.body}`);
  say("  The form closes.");
  await slack.waitFor(() => slack.messages(user.id).length > dms, {
    timeoutMs: step.waitMs,
    what: `the bot's direct message to ${user.name}`,
  });
}
