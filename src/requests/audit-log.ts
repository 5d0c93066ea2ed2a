import type { RedisClient } from "../redis.js";
import { isChangeKindName } from "./changes/index.js";
import {
  type ChangeAction,
  type ChangeKindName,
  type ChangeRequest,
  DEFAULT_TENANT,
} from "./model.js";
import { fromFieldList } from "./redis-fields.js";

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
  | "dcr-enabled"
  | "dcr-disabled"
  | "dry-run"
  | "failed"
  | "outcome-unknown";

/** The event that records a change carried out: "promoted" for a promotion. */
export const DONE_EVENTS: Readonly<Record<ChangeAction, AuditEvent>> = {
  promote: "promoted",
  demote: "demoted",
  "enable-dcr": "dcr-enabled",
  "disable-dcr": "dcr-disabled",
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
  /** Approvals and expiry: who had approved by then, and how many were needed. */
  approvers?: string[];
  required?: number;
}

/** A record with the stream entry id it was read from (its position in the trail). */
export interface AuditEntryRead {
  id: string;
  record: AuditRecord;
}

/** What an event adds to its one-line summary, in words: a reason, an outcome, the approvals. */
export function auditDetail(record: AuditRecord): string | undefined {
  if (record.detail) return record.detail;
  const approvers = record.approvers ?? [];
  const required = record.required ?? 1;
  switch (record.event) {
    case "approval": {
      const left = Math.max(0, required - approvers.length);
      const who = approvers.length > 0 ? approvers.map((u) => `@${u}`).join(", ") : "nobody yet";
      return `Approvals: ${who} (${approvers.length} of ${required})${left > 0 ? `, ${left} more needed` : ""}.`;
    }
    case "approved":
      return required > 1 ? `Approved by ${approvers.length} of ${required} required.` : undefined;
    case "expired":
      return `No decision within the time allowed (${approvers.length} of ${required} approvals).`;
    default:
      return undefined;
  }
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
    ...(f.approvers === undefined ? {} : { approvers: f.approvers.split(",").filter(Boolean) }),
    ...(f.required === undefined ? {} : { required: Number(f.required) }),
  };
}

/** Redis stream ids: "ms-seq". */
function streamIdMs(id: string): number {
  return Number(id.split("-")[0]);
}

/**
 * The audit trail's system of record: a Redis Stream that every state change appends to in the
 * same Lua script as the change itself (store-scripts.ts). The audit channel is a view of it,
 * relayed in stream order from a cursor kept beside it; the stream is trimmed to its cap only
 * up to what has been relayed.
 */
export class AuditLog {
  readonly key: string;
  /** The id of the last entry relayed to the audit channel. */
  readonly cursorKey: string;
  private readonly holdKey: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
    private readonly retention: number,
  ) {
    this.key = `${prefix}:audit`;
    this.cursorKey = `${prefix}:audit-relay:cursor`;
    this.holdKey = `${prefix}:audit-relay:held`;
  }

  /**
   * Where relaying starts on a first run: after the newest entry already in the stream (those
   * were posted by the bot's earlier versions), or at the start of an empty one.
   */
  async initCursor(): Promise<void> {
    const newest = await this.redis.xrevrange(this.key, "+", "-", "COUNT", 1);
    await this.redis.set(this.cursorKey, newest[0]?.[0] ?? "0-0", "NX");
  }

  async cursor(): Promise<string> {
    return (await this.redis.get(this.cursorKey)) ?? "0-0";
  }

  /**
   * Moves the cursor to `id`, if `lease` is still held by `holder`: a relay that lost its lease
   * (paused too long, another took over) cannot move the cursor under the new one.
   */
  async advance(id: string, lease: { key: string; holder: string }): Promise<boolean> {
    const moved = await this.redis.eval(
      "if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('SET', KEYS[1], ARGV[1]) return 1 end return 0",
      2,
      this.cursorKey,
      lease.key,
      id,
      lease.holder,
    );
    return Number(moved) === 1;
  }

  /** Entries after `afterId`, oldest first. */
  async after(afterId: string, count: number): Promise<AuditEntryRead[]> {
    const entries = await this.redis.xrange(this.key, `(${afterId}`, "+", "COUNT", count);
    return entries.map(([id, flat]) => ({ id, record: fromEntry(fromFieldList(flat)) }));
  }

  /**
   * How far the audit channel is behind: entries not yet relayed, and the age of the oldest
   * (0 when none).
   */
  async lag(now = Date.now()): Promise<{ entries: number; seconds: number }> {
    const cursor = await this.cursor();
    const [oldest] = await this.redis.xrange(this.key, `(${cursor}`, "+", "COUNT", 1);
    if (!oldest) return { entries: 0, seconds: 0 };
    // Counted up to a bound: the age says how bad it is; the count is for a glance.
    const behind = await this.redis.xrange(this.key, `(${cursor}`, "+", "COUNT", 1_000);
    return { entries: behind.length, seconds: Math.max(0, (now - streamIdMs(oldest[0])) / 1000) };
  }

  /** Records that the relay is held (since when, why, on which entry), for metrics and the doctor. */
  async hold(reason: string, entryId: string, now = Date.now()): Promise<void> {
    await this.redis
      .multi()
      .hsetnx(this.holdKey, "since", String(now))
      .hset(this.holdKey, "reason", reason, "entry", entryId)
      .exec();
  }

  async clearHold(): Promise<void> {
    await this.redis.del(this.holdKey);
  }

  /** Why the relay is held, since when; undefined while lines flow. */
  async holdStatus(): Promise<{ reason: string; since: number; entry: string } | undefined> {
    const h = await this.redis.hgetall(this.holdKey);
    if (!h.reason) return undefined;
    return { reason: h.reason, since: Number(h.since ?? 0), entry: h.entry ?? "" };
  }

  /** Keeps the stream to its cap, never dropping what is not yet relayed. */
  async trim(): Promise<void> {
    const [newest] = await this.redis.xrevrange(this.key, "+", "-", "COUNT", 1);
    if (newest && newest[0] === (await this.cursor())) {
      await this.redis.xtrim(this.key, "MAXLEN", "~", this.retention);
    }
  }

  /** Newest first; optionally only one target's events. Reads at most `scan` entries. */
  async recent(
    options: {
      tenant?: string;
      target?: { id?: string; name?: string };
      limit?: number;
      scan?: number;
    } = {},
  ): Promise<AuditRecord[]> {
    const wanted = options.target;
    const limit = options.limit ?? 15;
    const entries = await this.redis.xrevrange(this.key, "+", "-", "COUNT", options.scan ?? 2_000);
    const out: AuditRecord[] = [];
    for (const [, flat] of entries) {
      const record = fromEntry(fromFieldList(flat));
      if (options.tenant && record.tenant !== options.tenant) continue;
      if (wanted?.id && record.targetId !== wanted.id) continue;
      if (wanted?.name && record.targetName !== wanted.name) continue;
      out.push(record);
      if (out.length >= limit) break;
    }
    return out;
  }
}
