import type { BotDeps } from "../../deps.js";
import { type ButtonArgs, decide } from "./decide.js";

/** Deny: PENDING → DENIED once; the message loses its buttons and the requester is told. */
export function denyRequest(deps: BotDeps) {
  return async (args: ButtonArgs): Promise<void> => {
    const request = await decide(deps, args, "deny", "DENIED");
    if (!request) return;
    try {
      await deps.outbox.updateApproval(request);
      await deps.outbox.notifyRequester(request);
      await deps.outbox.audit({
        event: "denied",
        request,
        actorId: request.decidedBy,
        at: request.decidedAt ?? Date.now(),
      });
    } catch (err) {
      deps.logger.error({ err, requestId: request.id }, "denied, but could not enqueue messages");
    }
  };
}
