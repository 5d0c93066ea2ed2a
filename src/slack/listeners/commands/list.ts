import { requestSummary } from "../../views/replies.js";
import { type Invalid, subcommand } from "./types.js";

const SHOWN = 20;

/** `list`: open requests; for an approver, which of them wait for them. */
export const list = subcommand<Record<string, never>>({
  name: "list",
  audience: "readers",
  args: "",
  does: "open requests (and which wait for you)",
  parse(rest): Record<string, never> | Invalid {
    if (rest.trim()) return { invalid: "`list` takes no arguments." };
    return {};
  },
  async run({ deps, userId, reply }) {
    const open = await deps.store.openRequests(100);
    if (open.length === 0) {
      await reply(":sparkles: No open requests.");
      return;
    }
    const isApprover = await deps.policy.approvers.includes(userId);
    const waitingForYou = isApprover
      ? open.filter(
          (r) => r.state === "PENDING" && r.requesterId !== userId && !r.approvals.includes(userId),
        )
      : [];
    const others = open.filter((r) => !waitingForYou.includes(r));
    const lines: string[] = [];
    if (waitingForYou.length > 0) {
      lines.push(
        `*Waiting for you* (${waitingForYou.length}):`,
        ...waitingForYou.slice(0, SHOWN).map(requestSummary),
        "",
      );
    }
    if (others.length > 0) {
      lines.push(
        `*Open requests* (${others.length}):`,
        ...others.slice(0, SHOWN).map(requestSummary),
      );
    }
    if (open.length > 2 * SHOWN) lines.push(`…and more; the oldest are shown first.`);
    await reply(lines.join("\n"));
  },
});
