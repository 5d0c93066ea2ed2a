import { revertOf, revertReason } from "../../../requests/revert.js";
import type { BotDeps } from "../../deps.js";
import { code } from "../../views/text.js";
import { requestChange } from "../commands/change.js";
import { Refusal } from "../commands/types.js";
import { auditRefusal } from "./decide.js";
import { fileFromRequestButton } from "./file-from-request.js";

/**
 * "Request revert", on the message of a change carried out: files the opposite change (demote
 * after promote, …) of the same target, on behalf of whoever clicks, through the same policy and
 * approval as the command would. The message shows the button only when there is something to
 * revert; the click is checked again here, whatever the message showed.
 */
export function requestRevert(deps: BotDeps) {
  return fileFromRequestButton(deps, {
    handler: "request-revert",
    failedTo: "request a revert of",
    async file(source, ctx, log) {
      // Who may ask first, as for every click on a request: a refusal is audited on it.
      const may = await deps.policy.mayRequest(ctx.userId);
      if (!may.allowed) {
        log.warn({ why: may.why, requestId: source.id }, "refused revert click");
        await auditRefusal(deps, source, ctx.userId, `revert refused: ${may.why}`);
        throw new Refusal(
          `:lock: You cannot ask to revert request ${code(source.id)}: ${may.why}. Nothing was requested.`,
        );
      }
      const revert = revertOf(source);
      if (!revert.ok)
        throw new Refusal(`:information_source: ${revert.why} Nothing was requested.`);
      // Duplicates, the person's open-request limit, "already so" (reverted by hand) and the
      // approval itself are requestChange's, as for the command.
      await requestChange(ctx, revert.kind, revert.action, {
        tenant: source.tenant,
        target: { kind: "id", id: revert.kind.targetIsTenant ? source.tenant : source.target.id },
        reason: revertReason(source),
      });
    },
  });
}
