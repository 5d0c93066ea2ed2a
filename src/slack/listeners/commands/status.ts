import { connectionDomainLevel } from "../../../requests/changes/connection-domain-level.js";
import type { TargetRef } from "../../../requests/changes/index.js";
import { isRequestId } from "../../../requests/model.js";
import { tenantLabel } from "../../../requests/tenants.js";
import { splitFirst } from "../../command-text.js";
import { COMMAND, requestSummary } from "../../views/replies.js";
import { code, escapeMrkdwn } from "../../views/text.js";
import { lookUpTarget } from "./look-up.js";
import { Refusal, subcommand, takeTenant } from "./types.js";

type StatusOf = { kind: "request"; id: string } | (TargetRef & { tenant: string });

/** `status <request id>` or `status [tenant] <connection>` */
export const status = subcommand<{ target: StatusOf }>({
  name: "status",
  audience: "readers",
  args: "<request id | con_id | name>",
  tenantWord: "optional",
  does: "where a request stands, or a connection's state and open requests",
  parse(text, ctx) {
    // A request id names its tenant itself.
    const [first, more] = splitFirst(text);
    if (isRequestId(first) && !more) return { target: { kind: "request", id: first } };
    const named = takeTenant(text, ctx, (t) => `${COMMAND} status ${t} <connection>`);
    if ("invalid" in named) return named;
    const [word, extra] = splitFirst(named.rest);
    if (!word || extra) return { invalid: "`status` needs one request id or connection." };
    const ref = connectionDomainLevel.parseTarget(word);
    return "invalid" in ref ? ref : { target: { ...ref, tenant: named.tenant } };
  },
  ack: () => ":mag: Looking it up…",
  async run(ctx, { target }) {
    const { deps, reply, userId } = ctx;
    if (target.kind === "request") {
      const request = await deps.store.get(target.id);
      if (!request) throw new Refusal(`:grey_question: No request ${code(target.id)} exists.`);
      const lines = [requestSummary(request)];
      const reasons = await deps.policy.maySeeReasons(userId, request);
      if (request.reason && reasons) lines.push(`Reason: ${escapeMrkdwn(request.reason)}`);
      if (request.state === "APPROVED") {
        const job = await deps.changeQueue.getJob(request.id);
        const state = job ? await job.getState() : "not queued yet";
        const attempts = job
          ? ` (attempt ${Math.max(1, job.attemptsMade + 1)} of ${job.opts.attempts ?? 1})`
          : "";
        lines.push(
          `Job: ${state}${attempts}${job?.failedReason ? `, last error: ${escapeMrkdwn(job.failedReason)}` : ""}`,
        );
      }
      if (request.outcome) lines.push(`Outcome: ${escapeMrkdwn(request.outcome)}`);
      if (request.denyReason && reasons) {
        lines.push(`Reason for denial: ${escapeMrkdwn(request.denyReason)}`);
      }
      await reply(lines.join("\n"));
      return;
    }
    const kind = connectionDomainLevel;
    const tenant = deps.tenants.get(target.tenant);
    if (!tenant) throw new Refusal(`:grey_question: No tenant \`${target.tenant}\` is configured.`);
    const found = await lookUpTarget(ctx, tenant, kind, target);
    const open = await deps.store.openRequestsFor(
      { tenant: tenant.settings.name, kind: kind.name },
      found.id,
    );
    const lines = [
      `${kind.stateLine(found)} (${tenantLabel(tenant.settings.name, tenant.settings.domain)})`,
      open.length > 0 ? "Open requests:" : "No open requests for it.",
      ...open.map(requestSummary),
    ];
    await reply(lines.join("\n"));
  },
});
