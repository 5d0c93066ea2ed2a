import type { ViewOutput } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { within } from "../../../auth0/bounded.js";
import { errorInWords } from "../../../error-words.js";
import type { Decision } from "../../../requests/policy.js";
import type { BotDeps } from "../../deps.js";
import { COMMAND } from "../../views/replies.js";
import {
  CHANGE_ACTION_ID,
  CHANGE_BLOCK_ID,
  isChangeAction,
  type RequestModalInput,
  type RequestModalMetadata,
  readModalMetadata,
  requestModal,
  TENANT_ACTION_ID,
  TENANT_BLOCK_ID,
} from "../../views/request-modal.js";
import { escapeMrkdwn } from "../../views/text.js";

/**
 * Opening and redrawing the request form, shared by the command, the global shortcut and the
 * form's own selects.
 */

/** The tenants as the form lists them, and what is picked: `picks` first, else the only tenant. */
export function formInput(deps: BotDeps, picks: RequestModalMetadata): RequestModalInput {
  const tenants = deps.tenants.names.flatMap((name) => {
    const settings = deps.tenants.get(name)?.settings;
    return settings
      ? [{ name, domain: settings.domain, requireReason: settings.requireReason }]
      : [];
  });
  const tenant =
    picks.tenant && deps.tenants.get(picks.tenant)
      ? picks.tenant
      : deps.tenants.only?.settings.name;
  return { tenants, tenant, action: picks.action ?? "promote" };
}

/**
 * What a person has picked in an open form: the selects' state (fresher) over the metadata of
 * the last drawing.
 */
export function formPicks(view: Pick<ViewOutput, "state" | "private_metadata"> | undefined) {
  const metadata = readModalMetadata(view?.private_metadata);
  const values = view?.state?.values ?? {};
  const tenant = values[TENANT_BLOCK_ID]?.[TENANT_ACTION_ID]?.selected_option?.value;
  const action = values[CHANGE_BLOCK_ID]?.[CHANGE_ACTION_ID]?.selected_option?.value;
  return {
    ...metadata,
    ...(tenant ? { tenant } : {}),
    ...(isChangeAction(action) ? { action } : {}),
  } satisfies RequestModalMetadata;
}

/** Asking who may request should not cost the form its trigger (valid for 3 s). */
const POLICY_CHECK_MS = 1_000;

/**
 * Opens the form for `userId` with the trigger of their command or shortcut. Someone who may not
 * ask is told so instead (the submission checks again); a form that cannot be opened is
 * explained, with the typed command as the way round.
 */
export async function openRequestForm(
  deps: BotDeps,
  client: WebClient,
  opening: {
    triggerId: string;
    userId: string;
    picks: RequestModalMetadata;
    tell: (text: string) => Promise<unknown>;
  },
): Promise<void> {
  const log = deps.logger.child({ handler: "open-request-form", user: opening.userId });
  const tell = (text: string) =>
    opening.tell(text).catch((err: unknown) => log.warn({ err }, "could not tell why"));
  const may = await within<Decision>(
    POLICY_CHECK_MS,
    deps.policy.mayRequest(opening.userId),
    () => new Error("the policy check took too long"),
  ).catch((err: unknown): Decision => {
    // Open it anyway: the submission asks again before anything is requested.
    log.warn({ err: errorInWords(err) }, "could not check who may ask before opening the form");
    return { allowed: true };
  });
  if (!may.allowed) {
    await tell(`:lock: You cannot ask for changes: ${may.why}.`);
    return;
  }
  try {
    await client.views.open({
      trigger_id: opening.triggerId,
      view: requestModal(formInput(deps, opening.picks)),
    });
  } catch (err) {
    const slackError = (err as { data?: { error?: string } }).data?.error;
    log.error({ err }, "could not open the request form");
    await tell(
      `:warning: Could not open the request form (${escapeMrkdwn(slackError ?? errorInWords(err))}). Try again, or type the request: \`${COMMAND} <con_id | name> "reason"\` (\`${COMMAND} help\` shows the rest).`,
    );
  }
}
