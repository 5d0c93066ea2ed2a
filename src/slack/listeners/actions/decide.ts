import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from "@slack/bolt";
import { errorInWords } from "../../../jobs/promote-processor.js";
import { isRequestId, type PromotionRequest, type RequestState } from "../../../requests/model.js";
import type { BotDeps } from "../../deps.js";
import { code, escapeMrkdwn } from "../../views/text.js";

export type ButtonArgs = SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs;

const STATE_WORDS: Record<RequestState, string> = {
  PENDING: "waiting for a decision",
  APPROVED: "already approved and being carried out",
  DONE: "already approved and done",
  FAILED: "already approved (it then failed)",
  DENIED: "already denied",
  EXPIRED: "already expired",
  CANCELLED: "already cancelled",
};

export function stateInWords(state: RequestState): string {
  return STATE_WORDS[state];
}

/**
 * The part of Approve and Deny that must be the same: ack first, then find the request, check on
 * the server that this person may decide (refusals are audited and change nothing), then move it
 * out of PENDING atomically. Returns the moved request, or undefined when the click is answered.
 */
export async function decide(
  deps: BotDeps,
  { ack, body, action, respond }: ButtonArgs,
  verb: "approve" | "deny",
  to: Extract<RequestState, "APPROVED" | "DENIED">,
): Promise<PromotionRequest | undefined> {
  await ack();
  const userId = body.user.id;
  const requestId = action.value ?? "";
  const log = deps.logger.child({ handler: `${verb}-request`, requestId, user: userId });
  const tell = (text: string) =>
    respond({ response_type: "ephemeral", replace_original: false, text });

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
      await tell(
        `:lock: You cannot ${verb} request ${code(requestId)}: ${verdict.why}. Nothing was changed.`,
      );
      const now = (deps.now ?? Date.now)();
      await deps.outbox.audit(
        {
          event: "refused",
          request,
          actorId: userId,
          at: now,
          detail: `${verb} refused: ${verdict.why}`,
        },
        `${verb}.${userId}.${now}`,
      );
      return undefined;
    }
    const moved = await deps.store.transition(requestId, "PENDING", to, {
      decidedBy: userId,
      decidedAt: (deps.now ?? Date.now)(),
    });
    if (!moved.ok) {
      const state = moved.reason === "conflict" ? stateInWords(moved.current) : "gone";
      await tell(
        `:information_source: Request ${code(requestId)} is ${state}. Nothing was changed.`,
      );
      return undefined;
    }
    log.info(`request ${to.toLowerCase()}`);
    return moved.request;
  } catch (err) {
    log.error({ err }, `${verb} click failed`);
    await tell(
      `:warning: Could not ${verb} request ${code(requestId)}: ${escapeMrkdwn(errorInWords(err))}. Try again in a minute.`,
    );
    return undefined;
  }
}
