import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from "@slack/bolt";
import { isRequestId } from "../../../requests/model.js";
import type { BotDeps } from "../../deps.js";
import { DENY_REASON_ACTION_ID, DENY_REASON_BLOCK_ID } from "../../views/deny-modal.js";
import { code } from "../../views/text.js";
import { auditRefusal, expiredWords, stateInWords, tellUser } from "../actions/decide.js";
import { refreshHome } from "../events/app-home-opened.js";

export type DenySubmissionArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** The deny modal was submitted: check again, then PENDING → DENIED once, with the reason. */
export function denyReasonSubmitted(deps: BotDeps) {
  return async ({ ack, body, view, client }: DenySubmissionArgs): Promise<void> => {
    await ack();
    const userId = body.user.id;
    const requestId = view.private_metadata;
    const log = deps.logger.child({ handler: "deny-reason-submitted", user: userId });
    const tell = (text: string) => tellUser(client, userId, text);
    try {
      if (!isRequestId(requestId)) return;
      const request = await deps.store.get(requestId);
      if (!request) {
        await tell(`:warning: Request ${code(requestId)} no longer exists.`);
        return;
      }
      const verdict = await deps.policy.mayDecide(userId, request);
      if (!verdict.allowed) {
        await auditRefusal(deps, request, userId, `deny refused: ${verdict.why}`);
        await tell(
          `:lock: You cannot deny request ${code(requestId)}: ${verdict.why}. Nothing was changed.`,
        );
        return;
      }
      const reason = (
        view.state.values[DENY_REASON_BLOCK_ID]?.[DENY_REASON_ACTION_ID]?.value ?? ""
      ).trim();
      const moved = await deps.store.transition(requestId, "PENDING", "DENIED", {
        fields: {
          decidedBy: userId,
          decidedAt: (deps.now ?? Date.now)(),
          denyReason: reason || undefined,
        },
        event: "denied",
        actorId: userId,
        detail: reason ? `Reason: ${reason}` : "No reason given.",
      });
      if (!moved.ok && moved.reason === "expired") {
        const expired = await deps.store.get(requestId);
        if (expired) await deps.outbox.settled(expired, { tellRequester: true });
        await tell(expiredWords(requestId, moved.expiresAt));
        return;
      }
      if (!moved.ok) {
        const state = moved.reason === "conflict" ? stateInWords(moved.current) : "gone";
        await tell(
          `:information_source: Request ${code(requestId)} is ${state}. Nothing was changed.`,
        );
        return;
      }
      log.info("request denied");
      await deps.outbox.settled(moved.request, { tellRequester: true });
      await refreshHome(deps, client, userId);
    } catch (err) {
      log.error({ err }, "deny failed");
      await tell(
        `:warning: Could not deny request ${code(requestId)}; try again in a minute.`,
      ).catch(() => {});
    }
  };
}
