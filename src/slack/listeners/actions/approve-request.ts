import { errorInWords } from "../../../error-words.js";
import { enqueueChange } from "../../../jobs/queues.js";
import type { BotDeps } from "../../deps.js";
import { approvalProgress } from "../../views/approval-message.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { refreshHome } from "../events/app-home-opened.js";
import { type ButtonArgs, checkDecision, expiredWords, stateInWords, teller } from "./decide.js";

/**
 * Approve: records this approver's approval atomically; when the quorum is reached the request
 * becomes APPROVED once and its job (jobId = request id) is enqueued before anything else, so the
 * worker starts while Slack is being updated.
 */
export function approveRequest(deps: BotDeps) {
  return async (args: ButtonArgs): Promise<void> => {
    const checked = await checkDecision(deps, args, "approve");
    if (!checked) return;
    const userId = args.body.user.id;
    const tell = teller(args);
    const log = deps.logger.child({ handler: "approve-request", user: userId });
    try {
      const result = await deps.store.approve(checked.id, userId);
      switch (result.outcome) {
        case "missing":
          await tell(`:warning: Request ${code(checked.id)} no longer exists.`);
          return;
        case "conflict":
          await tell(
            `:information_source: Request ${code(checked.id)} is ${stateInWords(result.current)}. Nothing was changed.`,
          );
          return;
        case "duplicate":
          await tell(
            `:information_source: You have already approved ${code(checked.id)}. ${approvalProgress(result.request)}`,
          );
          return;
        case "expired":
          await deps.outbox.settled(result.request, { tellRequester: true });
          await tell(expiredWords(checked.id, result.expiresAt));
          return;
        case "recorded": {
          const { request } = result;
          await deps.outbox.updateApproval(request, `approval-${request.approvals.length}`);
          await tell(
            `:ballot_box_with_check: Your approval of ${code(request.id)} is recorded. ${approvalProgress(request)}`,
          );
          break;
        }
        case "approved": {
          const { request } = result;
          // The job first, so the worker starts while Slack is being told. The "approved" audit
          // event was recorded with the approval, so it precedes the outcome's in the trail.
          await enqueueChange(deps.changeQueue, request.id);
          log.info("request approved and enqueued");
          await deps.outbox.updateApproval(request);
          break;
        }
      }
      if (args.body.container?.type === "view") await refreshHome(deps, args.client, userId);
    } catch (err) {
      // An APPROVED request whose job was not enqueued is picked up by the worker's reconciler.
      log.error({ err }, "approve failed part-way");
      await tell(
        `:warning: Your approval of ${code(checked.id)} may not be complete: ${escapeMrkdwn(errorInWords(err))}. Check with \`/promote-connection status ${checked.id}\`.`,
      );
    }
  };
}
