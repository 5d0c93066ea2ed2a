import type { Redis } from "ioredis";
import { isChangeKindName } from "./changes/index.js";
import {
  type ChangeAction,
  type ChangeKindName,
  type ChangeRequest,
  DEFAULT_TENANT,
} from "./model.js";
import { fromFieldList, toFieldList } from "./redis-fields.js";

/** What can happen to a request; each is one line of the audit trail. */
export type AuditEvent =
  | "requested"
  | "approval"
  | "approved"
  | "denied"
  | "refused"
  | "cancelled"
  | "expired"
  | "promoted"
  | "demoted"
  | "dry-run"
  | "failed";

/** The event that records a change carried out: "promoted" for a promotion. */
export const DONE_EVENTS: Readonly<Record<ChangeAction, AuditEvent>> = {
  promote: "promoted",
  demote: "demoted",
};

/** What an audit event says about its request: enough to read the line without the request. */
export type AuditSubject = Pick<
  ChangeRequest,
  "id" | "kind" | "tenant" | "action" | "target" | "dryRun"
>;

/** An event about to be recorded. */
export interface AuditEntry {
  event: AuditEvent;
  request: AuditSubject;
  /** Who did it: the requester, the approver, the refused clicker, or the bot (undefined). */
  actorId: string | undefined;
  at: number;
  /** Free text (a reason, an error): shown literally. */
  detail?: string;
}

/** An event as the stream keeps it: flat, self-contained. */
export interface AuditRecord {
  event: AuditEvent;
  requestId: string;
  kind: ChangeKindName;
  tenant: string;
  action: ChangeAction;
  targetId: string;
  targetName: string;
  actorId: string | undefined;
  at: number;
  detail: string | undefined;
  dryRun: boolean;
}

export function auditRecord(entry: AuditEntry): AuditRecord {
  const { request } = entry;
  return {
    event: entry.event,
    requestId: request.id,
    kind: request.kind,
    tenant: request.tenant,
    action: request.action,
    targetId: request.target.id,
    targetName: request.target.name,
    actorId: entry.actorId,
    at: entry.at,
    detail: entry.detail,
    dryRun: request.dryRun,
  };
}

/** A stream entry back as a record; entries written before change kinds named a connection. */
function fromEntry(f: Record<string, string>): AuditRecord {
  return {
    event: (f.event ?? "") as AuditEvent,
    requestId: f.requestId ?? "",
    kind: f.kind !== undefined && isChangeKindName(f.kind) ? f.kind : "connection-domain-level",
    tenant: f.tenant ?? DEFAULT_TENANT,
    action: (f.action as ChangeAction) ?? "promote",
    targetId: f.targetId ?? f.connectionId ?? "",
    targetName: f.targetName ?? f.connectionName ?? "",
    actorId: f.actorId,
    at: Number(f.at ?? 0),
    detail: f.detail,
    dryRun: f.dryRun === "1",
  };
}

/**
 * The audit trail's system of record: a capped Redis Stream, appended to before anything is
 * posted to Slack, so a Slack outage can delay audit lines but never lose an event.
 */
export class AuditLog {
  readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly retention: number,
  ) {
    this.key = `${prefix}:audit`;
  }

  async append(record: AuditRecord): Promise<void> {
    const fields = toFieldList({ ...record });
    await this.redis.xadd(this.key, "MAXLEN", "~", String(this.retention), "*", ...fields);
  }

  /** Newest first; optionally only one target's events. Reads at most `scan` entries. */
  async recent(
    options: { target?: { id?: string; name?: string }; limit?: number; scan?: number } = {},
  ): Promise<AuditRecord[]> {
    const wanted = options.target;
    const limit = options.limit ?? 15;
    const entries = await this.redis.xrevrange(this.key, "+", "-", "COUNT", options.scan ?? 2_000);
    const out: AuditRecord[] = [];
    for (const [, flat] of entries) {
      const record = fromEntry(fromFieldList(flat));
      if (wanted?.id && record.targetId !== wanted.id) continue;
      if (wanted?.name && record.targetName !== wanted.name) continue;
      out.push(record);
      if (out.length >= limit) break;
    }
    return out;
  }
}
