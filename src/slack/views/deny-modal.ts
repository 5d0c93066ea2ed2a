import type { ModalView } from "@slack/types";
import { wordsOf } from "../../requests/changes/index.js";
import type { ChangeRequest } from "../../requests/model.js";
import { targetLabel, tenantOf } from "./approval-message.js";
import { code, mrkdwn, plain } from "./text.js";

export const DENY_MODAL_CALLBACK_ID = "deny_request_reason";
export const DENY_REASON_BLOCK_ID = "deny_reason";
export const DENY_REASON_ACTION_ID = "reason";
export const MAX_DENY_REASON_LENGTH = 1000;

/** The modal that asks an approver why they deny (optional); the request id rides along. */
export function denyModal(request: ChangeRequest): ModalView {
  const words = wordsOf(request);
  return {
    type: "modal",
    callback_id: DENY_MODAL_CALLBACK_ID,
    private_metadata: request.id,
    title: plain("Deny request", 24),
    submit: plain("Deny", 24),
    close: plain("Cancel", 24),
    blocks: [
      {
        type: "section",
        text: mrkdwn(
          `Deny <@${request.requesterId}>'s request ${code(request.id)} to ${words.verb} ${targetLabel(request)} in ${tenantOf(request)}?`,
        ),
      },
      {
        type: "input",
        block_id: DENY_REASON_BLOCK_ID,
        optional: true,
        label: plain("Reason (shown to the requester and in the audit trail)"),
        element: {
          type: "plain_text_input",
          action_id: DENY_REASON_ACTION_ID,
          multiline: true,
          max_length: MAX_DENY_REASON_LENGTH,
        },
      },
    ],
  };
}
