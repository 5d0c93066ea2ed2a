import type { App } from "@slack/bolt";
import type { BotDeps } from "../deps.js";
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from "../views/approval-message.js";
import { DENY_MODAL_CALLBACK_ID } from "../views/deny-modal.js";
import { COMMAND } from "../views/replies.js";
import { approveRequest } from "./actions/approve-request.js";
import { denyRequest } from "./actions/deny-request.js";
import { promoteConnection } from "./commands/promote-connection.js";
import { appHomeOpened } from "./events/app-home-opened.js";
import { allowedTeams } from "./middleware/allowed-teams.js";
import { denyReasonSubmitted } from "./views/deny-reason-submitted.js";

/** One place that says which Slack interaction runs which handler. */
export function registerListeners(app: App, deps: BotDeps): void {
  app.use(allowedTeams(deps));
  app.command(COMMAND, promoteConnection(deps));
  app.action(APPROVE_ACTION_ID, approveRequest(deps));
  app.action(DENY_ACTION_ID, denyRequest(deps));
  app.view(DENY_MODAL_CALLBACK_ID, denyReasonSubmitted(deps));
  app.event("app_home_opened", appHomeOpened(deps));
}
