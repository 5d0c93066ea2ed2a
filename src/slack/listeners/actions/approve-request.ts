import { enqueuePromotion } from "../../../jobs/queues.js";
import type { BotDeps } from "../../deps.js";
import { type ButtonArgs, decide } from "./decide.js";

/**
 * Approve: PENDING → APPROVED once, then the promotion job (jobId = request id, so even a second
 * enqueue is ignored) before anything else, so the worker starts while Slack is being updated.
 */
export function approveRequest(deps: BotDeps) {
  return async (args: ButtonArgs): Promise<void> => {
    const request = await decide(deps, args, "approve", "APPROVED");
    if (!request) return;
    try {
      await enqueuePromotion(deps.promoteQueue, request.id);
      await deps.outbox.updateApproval(request);
      await deps.outbox.audit({
        event: "approved",
        request,
        actorId: request.decidedBy,
        at: request.decidedAt ?? Date.now(),
      });
    } catch (err) {
      // The request is APPROVED in Redis; the worker's reconciler enqueues it if this add was lost.
      deps.logger.error({ err, requestId: request.id }, "approved, but could not enqueue yet");
      await args.respond({
        response_type: "ephemeral",
        replace_original: false,
        text: ":warning: Approved, but the job queue is unreachable right now; the promotion will start as soon as it is back.",
      });
    }
  };
}
