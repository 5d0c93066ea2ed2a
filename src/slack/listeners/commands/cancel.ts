import { isRequestId } from "../../../requests/model.js";
import { shown, splitFirst } from "../../command-text.js";
import { code } from "../../views/text.js";
import { expiredWords, stateInWords } from "../actions/decide.js";
import { Refusal, subcommand } from "./types.js";

/** `cancel <request id>`: the requester withdraws a pending request. */
export const cancel = subcommand<{ requestId: string }>({
  name: "cancel",
  audience: "anyone",
  args: "<request id>",
  tenantWord: "none",
  does: "withdraw your pending request",
  parse(rest) {
    const [id, extra] = splitFirst(rest);
    if (!isRequestId(id) || extra) {
      return {
        invalid: `\`cancel\` needs one request id such as \`req_7k3m9qxa2b\`${id ? `, not ${shown(rest.trim())}` : ""}.`,
      };
    }
    return { requestId: id };
  },
  async run({ deps, userId, reply }, { requestId }) {
    const request = await deps.store.get(requestId);
    if (!request) throw new Refusal(`:grey_question: No request ${code(requestId)} exists.`);
    if (request.requesterId !== userId) {
      throw new Refusal(
        `:lock: Only <@${request.requesterId}>, who made request ${code(requestId)}, can withdraw it.`,
      );
    }
    const moved = await deps.store.transition(requestId, "PENDING", "CANCELLED", {
      fields: { completedAt: (deps.now ?? Date.now)() },
      event: "cancelled",
      actorId: userId,
    });
    if (!moved.ok && moved.reason === "expired") {
      throw new Refusal(expiredWords(requestId, moved.expiresAt));
    }
    if (!moved.ok) {
      const state = moved.reason === "conflict" ? stateInWords(moved.current) : "gone";
      throw new Refusal(
        `:information_source: Request ${code(requestId)} is ${state}; it can no longer be withdrawn.`,
      );
    }
    // The requester did it themselves: no message to tell them.
    await deps.outbox.settled(moved.request, { tellRequester: false });
    await reply(`:leftwards_arrow_with_hook: Request ${code(requestId)} is withdrawn.`);
  },
});
