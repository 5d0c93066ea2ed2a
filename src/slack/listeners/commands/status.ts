import type { BotDeps } from "../../deps.js";
import type { ConnectionRef } from "../../parse-command.js";
import { requestSummary } from "../../views/replies.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { lookUpConnection, Refusal } from "./look-up.js";
import type { Reply } from "./promote-connection.js";

/** `status <request id | connection>` */
export async function showStatus(
  deps: BotDeps,
  target: { kind: "request"; id: string } | ConnectionRef,
  reply: Reply,
): Promise<void> {
  if (target.kind === "request") {
    const request = await deps.store.get(target.id);
    if (!request) throw new Refusal(`:grey_question: No request ${code(target.id)} exists.`);
    const lines = [requestSummary(request)];
    if (request.reason) lines.push(`Reason: ${escapeMrkdwn(request.reason)}`);
    if (request.state === "APPROVED") {
      const job = await deps.promoteQueue.getJob(request.id);
      const state = job ? await job.getState() : "not queued yet";
      const attempts = job
        ? ` (attempt ${Math.max(1, job.attemptsMade + 1)} of ${job.opts.attempts ?? 1})`
        : "";
      lines.push(
        `Job: ${state}${attempts}${job?.failedReason ? `, last error: ${escapeMrkdwn(job.failedReason)}` : ""}`,
      );
    }
    if (request.outcome) lines.push(`Outcome: ${escapeMrkdwn(request.outcome)}`);
    if (request.denyReason) lines.push(`Reason for denial: ${escapeMrkdwn(request.denyReason)}`);
    await reply(lines.join("\n"));
    return;
  }
  const connection = await lookUpConnection(deps, target);
  const open = await deps.store.openRequestsFor(connection.id);
  const lines = [
    `${code(connection.name)} (${code(connection.id)}, ${code(connection.strategy)}) is ${connection.is_domain_connection ? "*a domain-level connection*" : "*not* domain-level"}.`,
    open.length > 0 ? "Open requests:" : "No open requests for it.",
    ...open.map(requestSummary),
  ];
  await reply(lines.join("\n"));
}
