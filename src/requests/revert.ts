import { type ChangeKind, changeKind, isChangeKindName, oppositeOf } from "./changes/index.js";
import type { ChangeAction, ChangeRequest, RequestState } from "./model.js";
import { code } from "./words.js";

/**
 * Undoing a change that was carried out: the opposite change (demote after promote, …) of the
 * same target in the same tenant, asked for like any other, through the same approval.
 */

/** What reverting a request would ask for, or why there is nothing to revert, in words. */
export type Revert =
  | { ok: true; kind: ChangeKind; action: ChangeAction }
  | { ok: false; why: string };

/** Why a request in each state other than DONE has nothing to undo. */
const NOTHING_TO_REVERT: Record<Exclude<RequestState, "DONE">, string> = {
  PENDING:
    "is still waiting for a decision: nothing was changed yet, so there is nothing to revert",
  APPROVED: "is being carried out: wait for its outcome before asking to revert it",
  FAILED: "failed: its change was not made, so there is nothing to revert",
  UNKNOWN:
    "has an unknown outcome: check in Auth0 whether it was applied, and if it was, ask for the opposite change",
  DENIED: "was denied: nothing was changed, so there is nothing to revert",
  EXPIRED: "expired: nothing was changed, so there is nothing to revert",
  CANCELLED: "was withdrawn: nothing was changed, so there is nothing to revert",
};

/**
 * Only a change carried out for real (DONE, not a dry run) of a kind that knows its opposite can
 * be reverted. Checked when the message is drawn and again, on the server, at every click.
 */
export function revertOf(request: ChangeRequest): Revert {
  const id = code(request.id);
  if (request.state !== "DONE") {
    return { ok: false, why: `Request ${id} ${NOTHING_TO_REVERT[request.state]}.` };
  }
  if (request.dryRun) {
    return {
      ok: false,
      why: `Request ${id} was a dry run: nothing was changed, so there is nothing to revert.`,
    };
  }
  const kind = isChangeKindName(request.kind) ? changeKind(request.kind) : undefined;
  const action = kind && oppositeOf(kind, request.action);
  if (!kind || !action) {
    return { ok: false, why: `Request ${id} is of a kind that cannot be reverted in one click.` };
  }
  return { ok: true, kind, action };
}

/** How much of the original reason a revert's reason quotes. */
const QUOTED_REASON_LENGTH = 150;

/**
 * The reason a revert is filed with: it names the request it undoes (so `history` and the audit
 * trail link the two), and quotes that request's reason, shortened.
 */
export function revertReason(source: Pick<ChangeRequest, "id" | "reason">): string {
  const reason = source.reason.replace(/\s+/g, " ").trim();
  if (!reason) return `Revert of ${source.id}`;
  const short =
    reason.length > QUOTED_REASON_LENGTH ? `${reason.slice(0, QUOTED_REASON_LENGTH - 1)}…` : reason;
  return `Revert of ${source.id} (asked for: "${short}")`;
}
