import type { Redis } from "ioredis";
import type { RequestAction } from "./model.js";
import { fromFieldList, toFieldList } from "./redis-fields.js";

export interface AuditRecord {
  event: string;
  requestId: string;
  action: RequestAction;
  connectionId: string;
  connectionName: string;
  actorId: string | undefined;
  at: number;
  detail: string | undefined;
  dryRun: boolean;
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

  /** Newest first; optionally only one connection's events. Reads at most `scan` entries. */
  async recent(
    options: { connection?: { id?: string; name?: string }; limit?: number; scan?: number } = {},
  ): Promise<AuditRecord[]> {
    const wanted = options.connection;
    const limit = options.limit ?? 15;
    const entries = await this.redis.xrevrange(this.key, "+", "-", "COUNT", options.scan ?? 2_000);
    const out: AuditRecord[] = [];
    for (const [, flat] of entries) {
      const f = fromFieldList(flat);
      if (wanted?.id && f.connectionId !== wanted.id) continue;
      if (wanted?.name && f.connectionName !== wanted.name) continue;
      out.push({
        event: f.event ?? "",
        requestId: f.requestId ?? "",
        action: (f.action as RequestAction) ?? "promote",
        connectionId: f.connectionId ?? "",
        connectionName: f.connectionName ?? "",
        actorId: f.actorId,
        at: Number(f.at ?? 0),
        detail: f.detail,
        dryRun: f.dryRun === "1",
      });
      if (out.length >= limit) break;
    }
    return out;
  }
}
