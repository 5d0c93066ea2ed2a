import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";
import { errorInWords } from "../../../error-words.js";
import { type ChangeRequest, isRequestId, type RequestState } from "../../../requests/model.js";
import type { BotDeps } from "../../deps.js";
import { code, escapeMrkdwn, slackDate } from "../../views/text.js";

export type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

const STATE_WORDS: Record<RequestState, string> = {
  PENDING: "waiting for a decision",
  APPROVED: "already approved and being carried out",
  DONE: "already approved and done",
  FAILED: "already approved (it then failed)",
  DENIED: "already denied",
  EXPIRED: "already expired",
  CANCELLED: "already cancelled by the requester",
  UNKNOWN: "already approved (whether it was applied is unknown: check Auth0)",
};

export function stateInWords(state: RequestState): string {
  return STATE_WORDS[state];
}

/** The answer to a decision that came after the request's time ran out. */
export function expiredWords(requestId: string, expiresAt: number): string {
  return `:alarm_clock: Request ${code(requestId)} expired at ${slackDate(expiresAt)} without enough approvals. Nothing was changed; it can be asked for again.`;
}

/**
 * Tells the clicker something only they see: an ephemeral reply under the message they clicked,
 * or, for a click on the App Home tab (which has no response URL), a direct message.
 */
export function teller(args: Pick<ButtonArgs, "body" | "respond" | "client">) {
  return async (text: string): Promise<void> => {
    if (args.body.response_url) {
      await args.respond({ response_type: "ephemeral", replace_original: false, text });
    } else {
      await args.client.chat.postMessage({ channel: args.body.user.id, text });
    }
  };
}

/** Posts a private answer for someone who is not necessarily looking at a message. */
export async function tellUser(client: WebClient, userId: string, text: string): Promise<void> {
  await client.chat.postMessage({ channel: userId, text });
}

/**
 * The part of Approve and Deny that must be the same: ack first, then find the request, check on
 * the server that this person may decide (refusals are audited and change nothing), and that it
 * still waits for a decision. Returns the request, or undefined when the click is answered.
 */
export async function checkDecision(
  deps: BotDeps,
  args: ButtonArgs,
  verb: "approve" | "deny",
): Promise<ChangeRequest | undefined> {
  const { ack, body, action } = args;
  await ack();
  const userId = body.user.id;
  const requestId = action.value ?? "";
  const log = deps.logger.child({ handler: `${verb}-request`, user: userId });
  const tell = teller(args);
  try {
    if (!isRequestId(requestId)) {
      await tell(":warning: This button does not belong to a request this bot knows.");
      return undefined;
    }
    const request = await deps.store.get(requestId);
    if (!request) {
      await tell(`:warning: Request ${code(requestId)} no longer exists.`);
      return undefined;
    }
    const verdict = await deps.policy.mayDecide(userId, request);
    if (!verdict.allowed) {
      log.warn({ why: verdict.why }, `refused ${verb} click`);
      await auditRefusal(deps, request, userId, `${verb} refused: ${verdict.why}`);
      await tell(
        `:lock: You cannot ${verb} request ${code(requestId)}: ${verdict.why}. Nothing was changed.`,
      );
      return undefined;
    }
    if (request.state === "PENDING" && (deps.now ?? Date.now)() >= request.expiresAt) {
      // Its time ran out (even if no expiry job has run yet): expire it now, and say so.
      const moved = await deps.store.transition(requestId, "PENDING", "EXPIRED");
      if (moved.ok) await deps.outbox.settled(moved.request, { tellRequester: true });
      await tell(expiredWords(requestId, request.expiresAt));
      return undefined;
    }
    if (request.state !== "PENDING") {
      await tell(
        `:information_source: Request ${code(requestId)} is ${stateInWords(request.state)}. Nothing was changed.`,
      );
      return undefined;
    }
    return request;
  } catch (err) {
    log.error({ err }, `${verb} click failed`);
    await tell(
      `:warning: Could not ${verb} request ${code(requestId)}: ${escapeMrkdwn(errorInWords(err))}. Try again in a minute.`,
    );
    return undefined;
  }
}

/**
 * Audits a refused click: once per person and request within REFUSED_AUDIT_WINDOW, so a flood of
 * clicks cannot bury the real lines behind it.
 */
export async function auditRefusal(
  deps: BotDeps,
  request: ChangeRequest,
  userId: string,
  detail: string,
): Promise<void> {
  await deps.store.refuse(request.id, userId, detail, deps.config.policy.refusedAuditWindowMs);
}
