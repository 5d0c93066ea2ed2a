import { isChangeKindName } from "./changes/index.js";
import {
  type ChangeAction,
  type ChangeRequest,
  type ChangeTarget,
  DEFAULT_TENANT,
  type RequestState,
} from "./model.js";
import { toFieldList } from "./redis-fields.js";

/*
 * A request as its Redis hash holds it: the target flattened (targetId, targetName), its facts
 * under "fact.", and requests stored before change kinds read in today's shape.
 */

const FACT = "fact.";

/** A request as the fields of its Redis hash: the target flattened, its facts under "fact.". */
export function toHash(request: ChangeRequest): string[] {
  const { target, approvals: _approvals, ...rest } = request;
  const facts = Object.fromEntries(Object.entries(target.facts).map(([k, v]) => [FACT + k, v]));
  return toFieldList({ ...rest, targetId: target.id, targetName: target.name, ...facts });
}

function num(v: string | undefined): number | undefined {
  return v === undefined || v === "" ? undefined : Number(v);
}

/** The target of a stored request, in today's shape or in the shape before change kinds. */
function targetOf(h: Record<string, string>): ChangeTarget {
  if (h.kind !== undefined) {
    const facts: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) if (k.startsWith(FACT)) facts[k.slice(FACT.length)] = v;
    return { id: h.targetId ?? "", name: h.targetName ?? "", facts };
  }
  const facts: Record<string, string> = {};
  for (const k of ["displayName", "strategy", "wasDomainConnection", "dcr"]) {
    const v = h[k];
    if (v !== undefined) facts[k] = v;
  }
  return { id: h.connectionId ?? "", name: h.connectionName ?? "", facts };
}

export function fromHash(
  h: Record<string, string>,
  approvals: string[],
): ChangeRequest | undefined {
  if (!h.id || !h.state) return undefined;
  return {
    id: h.id,
    kind: h.kind !== undefined && isChangeKindName(h.kind) ? h.kind : "connection-domain-level",
    tenant: h.tenant ?? DEFAULT_TENANT,
    tenantDomain: h.tenantDomain || undefined,
    action: (h.action as ChangeAction) ?? "promote",
    target: targetOf(h),
    state: h.state as RequestState,
    reason: h.reason ?? "",
    requesterId: h.requesterId ?? "",
    teamId: h.teamId ?? "",
    createdAt: num(h.createdAt) ?? 0,
    requiredApprovals: num(h.requiredApprovals) ?? 1,
    approvals,
    dryRun: h.dryRun === "1",
    expiresAt: num(h.expiresAt) ?? 0,
    remindAt: num(h.remindAt),
    remindedAt: num(h.remindedAt),
    decidedBy: h.decidedBy,
    decidedAt: num(h.decidedAt),
    denyReason: h.denyReason,
    completedAt: num(h.completedAt),
    outcome: h.outcome,
    retryingUntil: num(h.retryingUntil),
    approvalChannel: h.approvalChannel,
    approvalTs: h.approvalTs,
    auditThreadTs: h.auditThreadTs,
    auditPermalink: h.auditPermalink,
  };
}
