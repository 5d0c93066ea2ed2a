import type { BotDeps } from "../../deps.js";
import { code } from "../../views/text.js";
import { stateInWords } from "../actions/decide.js";
import { Refusal } from "./look-up.js";
import type { Reply } from "./promote-connection.js";

/** `cancel <request id>`: the requester withdraws a pending request. */
export async function cancelRequest(
  deps: BotDeps,
  userId: string,
  requestId: string,
  reply: Reply,
): Promise<void> {
  const request = await deps.store.get(requestId);
  if (!request) throw new Refusal(`:grey_question: No request ${code(requestId)} exists.`);
  if (request.requesterId !== userId) {
    throw new Refusal(
      `:lock: Only <@${request.requesterId}>, who made request ${code(requestId)}, can withdraw it.`,
    );
  }
  const moved = await deps.store.transition(requestId, "PENDING", "CANCELLED", {
    completedAt: (deps.now ?? Date.now)(),
  });
  if (!moved.ok) {
    const state = moved.reason === "conflict" ? stateInWords(moved.current) : "gone";
    throw new Refusal(
      `:information_source: Request ${code(requestId)} is ${state}; it can no longer be withdrawn.`,
    );
  }
  // The requester did it themselves: no message to tell them.
  await deps.outbox.settled(
    moved.request,
    { event: "cancelled", actorId: userId, at: moved.request.completedAt ?? Date.now() },
    { tellRequester: false },
  );
  await reply(`:leftwards_arrow_with_hook: Request ${code(requestId)} is withdrawn.`);
}
