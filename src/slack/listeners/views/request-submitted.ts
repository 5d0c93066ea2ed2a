import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from "@slack/bolt";
import { within } from "../../../auth0/bounded.js";
import { errorInWords } from "../../../error-words.js";
import { type ChangeKind, kindOfAction, type TargetRef } from "../../../requests/changes/index.js";
import { type ChangeAction, MAX_REASON_LENGTH } from "../../../requests/model.js";
import type { BotDeps } from "../../deps.js";
import { alreadyMark } from "../../views/connection-options.js";
import { COMMAND } from "../../views/replies.js";
import {
  CHANGE_BLOCK_ID,
  CONNECTION_ACTION_ID,
  connectionBlockId,
  isChangeAction,
  REASON_ACTION_ID,
  REASON_BLOCK_ID,
  TENANT_BLOCK_ID,
} from "../../views/request-modal.js";
import { escapeMrkdwn } from "../../views/text.js";
import { tellUser } from "../actions/decide.js";
import { reasonRequired, requestChange } from "../commands/change.js";
import { SUBCOMMAND_NAMES } from "../commands/subcommands.js";
import { Refusal } from "../commands/types.js";
import { formPicks } from "./request-form.js";

export type RequestSubmissionArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** What Slack shows under each field: plain words, by block id. */
type FieldErrors = Record<string, string>;

interface FormRequest {
  tenant: string;
  kind: ChangeKind;
  action: ChangeAction;
  target: TargetRef;
  reason: string;
  /** The block the target was picked in, for errors about it. */
  targetBlock: string;
}

/** Slack waits 3 s for the answer to a submission; refusals known by then are field errors. */
const EARLY_CHECKS_MS = 2_000;

/** Field errors are shown literally: no backticks or Slack markup. */
function unmarked(text: string): string {
  return text.replace(/`/g, "").replace(/\*/g, "");
}

/**
 * Reads the form: what is missing or malformed is a field error, found without Redis or Auth0.
 * An error for a block the submitted form does not show goes to the change, which every form has.
 */
function readForm(
  deps: BotDeps,
  view: RequestSubmissionArgs["view"],
): FormRequest | { errors: FieldErrors } {
  const values = view.state.values;
  const shown = new Set(view.blocks.map((b) => (b as { block_id?: string }).block_id));
  const errors: FieldErrors = {};
  const fail = (block: string, text: string) => {
    errors[shown.has(block) ? block : CHANGE_BLOCK_ID] ??= text;
  };
  // The selects' state; the last drawing's picks (private_metadata) when a select has none.
  const picks = formPicks(view);
  const tenant = deps.tenants.only?.settings.name ?? picks.tenant;
  const settings = tenant ? deps.tenants.get(tenant)?.settings : undefined;
  if (!settings) fail(TENANT_BLOCK_ID, "Pick a tenant.");
  const action = picks.action;
  if (!isChangeAction(action)) fail(CHANGE_BLOCK_ID, "Pick a change.");
  const reason = (values[REASON_BLOCK_ID]?.[REASON_ACTION_ID]?.value ?? "").trim();
  if (reason.length > MAX_REASON_LENGTH) {
    fail(
      REASON_BLOCK_ID,
      `The reason is ${reason.length} characters long; please keep it to ${MAX_REASON_LENGTH}.`,
    );
  } else if (!reason && settings?.requireReason) {
    fail(REASON_BLOCK_ID, unmarked(reasonRequired(settings.name)));
  }
  if (!settings || !isChangeAction(action)) return { errors };
  const kind = kindOfAction(action);
  let target: TargetRef = { kind: "id", id: settings.name };
  let targetBlock = CHANGE_BLOCK_ID;
  if (!kind.targetIsTenant) {
    targetBlock = connectionBlockId(settings.name);
    const picked = values[targetBlock]?.[CONNECTION_ACTION_ID]?.selected_option?.value;
    const ref = picked ? kind.parseTarget(picked) : undefined;
    if (!ref) fail(targetBlock, `Pick a ${kind.targetNoun} in ${settings.name}.`);
    else if ("invalid" in ref) fail(targetBlock, unmarked(ref.invalid));
    else target = ref;
  }
  if (Object.keys(errors).length > 0) return { errors };
  return { tenant: settings.name, kind, action, target, reason, targetBlock };
}

/**
 * What Redis and the fleet's connection list can refuse at once: someone who may not ask, an open
 * request for the same change, too many open requests, a connection already as asked. The same
 * checks run again, as the final word, when the request is made.
 */
async function earlyRefusals(
  deps: BotDeps,
  userId: string,
  form: FormRequest,
): Promise<FieldErrors | undefined> {
  const may = await deps.policy.mayRequest(userId);
  if (!may.allowed) {
    return {
      [CHANGE_BLOCK_ID]: unmarked(
        `You are not among those who may ask for changes here. Nothing was requested.`,
      ),
    };
  }
  const refused = await deps.store.refusalFor(
    { tenant: form.tenant, kind: form.kind.name, action: form.action, requesterId: userId },
    form.target,
    deps.config.policy.maxOpenRequestsPerUser,
  );
  if (refused?.reason === "duplicate") {
    return {
      [form.targetBlock]: `There is already an open request for this change: ${refused.openRequestId} (${COMMAND} status ${refused.openRequestId}). No second request was made.`,
    };
  }
  if (refused?.reason === "limit") {
    return {
      [CHANGE_BLOCK_ID]: `You already have ${refused.open} open request${refused.open === 1 ? "" : "s"}, the most allowed. Wait for one to be settled, or withdraw one (${COMMAND} list shows them).`,
    };
  }
  if (form.target.kind === "id") {
    const listed = deps.connectionLists.get(form.tenant)?.freshEntry(form.target.id);
    const mark = listed && alreadyMark(form.action, listed);
    if (listed && mark) {
      return {
        [form.targetBlock]: `${listed.name} is ${mark}: there is nothing to approve.`,
      };
    }
  }
  return undefined;
}

/**
 * The request form was submitted. What is wrong with it comes back as errors under its fields,
 * the form staying open; then the form closes and the request is filed exactly as the typed
 * command files it (same policy, lookup, store call, approval message and audit event), the
 * outcome told by direct message, where the bot's later messages about it arrive too.
 */
export function requestSubmitted(deps: BotDeps) {
  return async ({ ack, body, view, client }: RequestSubmissionArgs): Promise<void> => {
    const userId = body.user.id;
    const log = deps.logger.child({ handler: "request-submitted", user: userId });
    const form = readForm(deps, view);
    if ("errors" in form) {
      await ack({ response_action: "errors", errors: form.errors });
      return;
    }
    const early = await within(
      EARLY_CHECKS_MS,
      earlyRefusals(deps, userId, form),
      () => new Error(`no answer within ${EARLY_CHECKS_MS} ms`),
    ).catch((err: unknown) => {
      // Checked again when the request is made, and told in words there.
      log.warn({ err: errorInWords(err) }, "could not check the request before closing the form");
      return undefined;
    });
    if (early) {
      await ack({ response_action: "errors", errors: early });
      return;
    }
    await ack();
    const tell = (text: string) => tellUser(client, userId, text);
    try {
      await requestChange(
        {
          deps,
          client,
          userId,
          teamId: body.user.team_id ?? body.team?.id ?? "",
          reply: tell,
          subcommandNames: SUBCOMMAND_NAMES,
        },
        form.kind,
        form.action,
        { tenant: form.tenant, target: form.target, reason: form.reason },
      );
    } catch (err) {
      if (err instanceof Refusal) {
        await tell(err.message).catch(() => {});
        return;
      }
      log.error({ err }, "could not file the request from the form");
      await tell(
        `:warning: Something went wrong: ${escapeMrkdwn(errorInWords(err))}. Nothing was changed; try again in a minute.`,
      ).catch(() => {});
    }
  };
}
