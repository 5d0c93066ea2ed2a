import type { App } from "@slack/bolt";
import { withRequestId } from "../../log.js";
import { isRequestId } from "../../requests/model.js";
import type { BotDeps } from "../deps.js";
import {
  APPROVE_ACTION_ID,
  DENY_ACTION_ID,
  REQUEST_ENABLE_DCR_ACTION_ID,
  REQUEST_REVERT_ACTION_ID,
} from "../views/approval-message.js";
import { DENY_MODAL_CALLBACK_ID } from "../views/deny-modal.js";
import { COMMAND } from "../views/replies.js";
import {
  CHANGE_ACTION_ID,
  CONNECTION_ACTION_ID,
  REQUEST_MODAL_CALLBACK_ID,
  REQUEST_SHORTCUT_CALLBACK_ID,
  TENANT_ACTION_ID,
} from "../views/request-modal.js";
import { approveRequest } from "./actions/approve-request.js";
import type { ButtonArgs } from "./actions/decide.js";
import { denyRequest } from "./actions/deny-request.js";
import { requestEnableDcr } from "./actions/request-enable-dcr.js";
import { requestFormChanged } from "./actions/request-form-changed.js";
import { requestRevert } from "./actions/request-revert.js";
import { promoteConnection } from "./commands/promote-connection.js";
import { appHomeOpened } from "./events/app-home-opened.js";
import { memberJoinedChannel } from "./events/member-joined-channel.js";
import { allowedTeams } from "./middleware/allowed-teams.js";
import { userRateLimit } from "./middleware/user-rate-limit.js";
import { connectionSuggestions } from "./options/connection-suggestions.js";
import { requestChangeShortcut } from "./shortcuts/request-change.js";
import { type DenySubmissionArgs, denyReasonSubmitted } from "./views/deny-reason-submitted.js";
import { requestSubmitted } from "./views/request-submitted.js";

/**
 * Runs a handler with the request id its payload names (a button's value, a modal's metadata),
 * so every log line written while handling it, Bolt's and the Slack client's too, carries it.
 */
function aboutRequest<A>(
  requestIdOf: (args: A) => string | undefined,
  handler: (args: A) => Promise<void>,
) {
  return (args: A): Promise<void> => {
    const id = requestIdOf(args);
    return id && isRequestId(id) ? withRequestId(id, () => handler(args)) : handler(args);
  };
}

/** One place that says which Slack interaction runs which handler. */
export function registerListeners(app: App, deps: BotDeps): void {
  const buttonValue = (args: ButtonArgs) => args.action.value;
  // Guards first, in this order: people from elsewhere cost nothing, not even a Redis count.
  app.use(allowedTeams(deps));
  app.use(userRateLimit(deps));
  app.command(COMMAND, promoteConnection(deps));
  app.action(APPROVE_ACTION_ID, aboutRequest(buttonValue, approveRequest(deps)));
  app.action(DENY_ACTION_ID, aboutRequest(buttonValue, denyRequest(deps)));
  app.action(REQUEST_ENABLE_DCR_ACTION_ID, aboutRequest(buttonValue, requestEnableDcr(deps)));
  app.action(REQUEST_REVERT_ACTION_ID, aboutRequest(buttonValue, requestRevert(deps)));
  app.view(
    DENY_MODAL_CALLBACK_ID,
    aboutRequest(
      (args: DenySubmissionArgs) => args.view.private_metadata,
      denyReasonSubmitted(deps),
    ),
  );
  // The request form: opened by the command (no arguments) or the shortcut, redrawn as a tenant
  // or a change is picked, its connection picker fed by type-ahead, filed on submission.
  app.shortcut(REQUEST_SHORTCUT_CALLBACK_ID, requestChangeShortcut(deps));
  app.action(TENANT_ACTION_ID, requestFormChanged(deps));
  app.action(CHANGE_ACTION_ID, requestFormChanged(deps));
  app.options(CONNECTION_ACTION_ID, connectionSuggestions(deps));
  app.view(REQUEST_MODAL_CALLBACK_ID, requestSubmitted(deps));
  app.event("app_home_opened", appHomeOpened(deps));
  app.event("member_joined_channel", memberJoinedChannel(deps));
}
