import type { App } from "@slack/bolt";
import type { BotDeps } from "../deps.js";
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from "../views/approval-message.js";
import { COMMAND } from "../views/replies.js";
import { approveRequest } from "./actions/approve-request.js";
import { denyRequest } from "./actions/deny-request.js";
import { promoteConnection } from "./commands/promote-connection.js";

/** One place that says which Slack interaction runs which handler. */
export function registerListeners(app: App, deps: BotDeps): void {
  app.command(COMMAND, promoteConnection(deps));
  app.action(APPROVE_ACTION_ID, approveRequest(deps));
  app.action(DENY_ACTION_ID, denyRequest(deps));
}
