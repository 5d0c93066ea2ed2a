import type { ClientContext, Result } from "ioredis";
import { type RedisClient, scanKeys } from "../redis.js";
import type { AuditEvent } from "./audit-log.js";
import { changeKind, type TargetRef } from "./changes/index.js";
import {
  type ChangeKindName,
  type ChangeRequest,
  DEFAULT_TENANT,
  FINAL_STATES,
  type NewChangeRequest,
  newRequestId,
  OPEN_STATES,
  pendingRequest,
  type RequestState,
} from "./model.js";
import { fromFieldList, toFieldList } from "./redis-fields.js";
import { fromHash, toHash } from "./request-hash.js";
import {
  APPROVE_SCRIPT,
  CREATE_SCRIPT,
  MIGRATE_SCRIPT,
  REFUSE_SCRIPT,
  REMIND_SCRIPT,
  TRANSITION_SCRIPT,
} from "./store-scripts.js";

export type CreateResult =
  | { ok: true; request: ChangeRequest }
  | { ok: false; reason: "duplicate"; openRequestId: string }
  | { ok: false; reason: "limit"; open: number };

export type CreateRefusal = Exclude<CreateResult, { ok: true }>;

export type TransitionResult =
  | { ok: true; request: ChangeRequest }
  | { ok: false; reason: "missing" }
  | { ok: false; reason: "conflict"; current: RequestState }
  /** It was PENDING past its expiry time: it is EXPIRED now, and nothing else happened. */
  | { ok: false; reason: "expired"; expiresAt: number };

export type ApproveResult =
  | { outcome: "approved" | "recorded" | "duplicate"; request: ChangeRequest }
  | { outcome: "missing" }
  | { outcome: "conflict"; current: RequestState }
  /** Past its expiry time: the click expired it instead (the request, now EXPIRED). */
  | { outcome: "expired"; expiresAt: number; request: ChangeRequest };

/** What a state change records in the audit trail, besides the change itself. */
export interface ChangeEvent {
  event: AuditEvent;
  /** Who did it; undefined for the bot. */
  actorId?: string;
  /** Free text: a reason, Auth0's answer. */
  detail?: string;
}

/** Fields outside the state machine and the target, as annotate() and transition() take them. */
type Fields = Partial<
  Record<
    Exclude<keyof ChangeRequest, "target" | "approvals">,
    string | number | boolean | undefined
  >
>;

/** The key part that keeps a second open request for the same change out. */
function openKeySuffix(r: Pick<ChangeRequest, "tenant" | "kind" | "action">, targetId: string) {
  return `${r.tenant}:${r.kind}:${r.action}:${targetId}`;
}

export interface CreateOptions {
  ttlMs: number;
  maxOpenPerUser: number;
  /** When its approvers are reminded, after it is made; 0 or undefined: never. */
  remindAfterMs?: number;
}

export interface StoreOptions {
  /** How long a settled request is kept (its hash, approvals and index entries). */
  retentionMs?: number;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
}

/** 90 days. */
export const DEFAULT_RETENTION_MS = 90 * 24 * 3600 * 1000;

/**
 * Requests live in Redis only, so any replica can serve any click and a restart loses nothing.
 */
export class RequestStore {
  private readonly now: () => number;
  readonly retentionMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: StoreOptions | (() => number) = {},
  ) {
    const opts = typeof options === "function" ? { now: options } : options;
    this.now = opts.now ?? Date.now;
    this.retentionMs = opts.retentionMs ?? DEFAULT_RETENTION_MS;
    if (!this.redis.createRequest) {
      // KEYS[1] is the request's key: a Cluster sends each script to the node holding it, and
      // with it every key the script derives from the prefix (one hash tag, one slot).
      const script = (lua: string) => ({ numberOfKeys: 1, lua });
      this.redis.defineCommand("createRequest", script(CREATE_SCRIPT));
      this.redis.defineCommand("transitionRequest", script(TRANSITION_SCRIPT));
      this.redis.defineCommand("approveRequest", script(APPROVE_SCRIPT));
      this.redis.defineCommand("refuseClick", script(REFUSE_SCRIPT));
      this.redis.defineCommand("migrateRequest", script(MIGRATE_SCRIPT));
      this.redis.defineCommand("remindRequest", script(REMIND_SCRIPT));
    }
  }

  private key(id: string): string {
    return `${this.prefix}:request:${id}`;
  }

  /**
   * Stores a new PENDING request, unless the target already has an open request for the same
   * change (the answer names it) or the requester holds too many open ones.
   */
  async create(input: NewChangeRequest, options: CreateOptions): Promise<CreateResult> {
    const createdAt = this.now();
    const request = pendingRequest(input, {
      id: newRequestId(),
      createdAt,
      expiresAt: createdAt + options.ttlMs,
      remindAt: options.remindAfterMs ? createdAt + options.remindAfterMs : undefined,
    });
    const result = (await this.redis.createRequest(
      this.key(request.id),
      this.prefix,
      request.id,
      String(createdAt),
      String(options.maxOpenPerUser),
      openKeySuffix(request, request.target.id),
      request.requesterId,
      request.reason ? `Reason: ${request.reason}` : "",
      openKeySuffix(request, request.target.name),
      ...toHash(request),
    )) as [string, string?];
    if (result[0] === "duplicate") {
      return { ok: false, reason: "duplicate", openRequestId: result[1] ?? "" };
    }
    if (result[0] === "limit") return { ok: false, reason: "limit", open: Number(result[1]) };
    return { ok: true, request };
  }

  /**
   * What create() would refuse, read from Redis alone, so that a request can be refused before
   * its target is looked up in Auth0: an open request for the same change (found by the target's
   * id, or by its name), or a requester holding the most open requests allowed. Not atomic:
   * create() stays the final word.
   */
  async refusalFor(
    change: Pick<NewChangeRequest, "tenant" | "kind" | "action" | "requesterId">,
    target: TargetRef,
    maxOpenPerUser: number,
  ): Promise<CreateRefusal | undefined> {
    const openKey =
      target.kind === "id"
        ? `${this.prefix}:open:${openKeySuffix(change, target.id)}`
        : `${this.prefix}:open-name:${openKeySuffix(change, target.name)}`;
    const openId = await this.redis.get(openKey);
    if (openId) {
      const [state, name] = await this.redis.hmget(this.key(openId), "state", "targetName");
      const sameTarget = target.kind === "id" || name === target.name;
      if (sameTarget && OPEN_STATES.has(state as RequestState)) {
        return { ok: false, reason: "duplicate", openRequestId: openId };
      }
    }
    const open = await this.redis.scard(`${this.prefix}:user-open:${change.requesterId}`);
    return open >= maxOpenPerUser ? { ok: false, reason: "limit", open } : undefined;
  }

  async get(id: string): Promise<ChangeRequest | undefined> {
    const [hash, approvals] = await Promise.all([
      this.redis.hgetall(this.key(id)),
      this.redis.zrange(`${this.key(id)}:approvals`, "0", "-1"),
    ]);
    return fromHash(hash, approvals);
  }

  async getMany(ids: string[]): Promise<ChangeRequest[]> {
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((r): r is ChangeRequest => r !== undefined);
  }

  /** Sets fields that are not part of the state machine (e.g. where the approval message is). */
  async annotate(id: string, fields: Fields): Promise<void> {
    const pairs = toFieldList(fields);
    if (pairs.length > 0) await this.redis.hset(this.key(id), pairs);
  }

  /**
   * Moves a request from one state to another, recording `change.event` in the audit trail in
   * the same step. A PENDING request past its expiry time expires instead.
   */
  async transition(
    id: string,
    from: RequestState,
    to: RequestState,
    change: { fields?: Fields } & Partial<ChangeEvent> = {},
  ): Promise<TransitionResult> {
    const result = (await this.redis.transitionRequest(
      this.key(id),
      this.prefix,
      id,
      from,
      to,
      String(this.now()),
      String(this.retentionMs),
      change.event ?? "",
      change.actorId ?? "",
      change.detail ?? "",
      ...toFieldList(change.fields ?? {}),
    )) as [string, string?];
    if (result[0] === "missing") return { ok: false, reason: "missing" };
    if (result[0] === "conflict") {
      return { ok: false, reason: "conflict", current: result[1] as RequestState };
    }
    if (result[0] === "expired")
      return { ok: false, reason: "expired", expiresAt: Number(result[1]) };
    const request = await this.get(id);
    if (!request) return { ok: false, reason: "missing" };
    return { ok: true, request };
  }

  /**
   * Audits a refused click by `userId`, at most once per person and request within `windowMs`.
   * True when it was recorded.
   */
  async refuse(id: string, userId: string, detail: string, windowMs: number): Promise<boolean> {
    const recorded = await this.redis.refuseClick(
      this.key(id),
      this.prefix,
      id,
      userId,
      String(this.now()),
      String(windowMs),
      detail,
    );
    return Number(recorded) === 1;
  }

  /**
   * Claims a pending request's one reminder, just before it is posted: true for exactly one
   * caller, and only while the request is PENDING and not past its expiry; see REMIND_SCRIPT.
   * `release` gives the claim back when the reminder could not be posted after all.
   */
  async claimReminder(
    id: string,
  ): Promise<{ claimed: true; at: number } | { claimed: false; why: string }> {
    const at = this.now();
    const answer = String(
      await this.redis.remindRequest(this.key(id), this.prefix, id, "claim", String(at)),
    );
    return answer === "ok" ? { claimed: true, at } : { claimed: false, why: answer };
  }

  async releaseReminder(id: string, at: number): Promise<void> {
    await this.redis.remindRequest(this.key(id), this.prefix, id, "release", String(at));
  }

  /** One approver's approval; see APPROVE_SCRIPT. */
  async approve(id: string, approverId: string): Promise<ApproveResult> {
    const [outcome, detail, flat, approvals] = (await this.redis.approveRequest(
      this.key(id),
      this.prefix,
      id,
      approverId,
      String(this.now()),
      String(this.retentionMs),
    )) as [string, string, string[]?, string[]?];
    if (outcome === "missing") return { outcome: "missing" };
    if (outcome === "conflict") return { outcome: "conflict", current: detail as RequestState };
    const request = flat ? fromHash(fromFieldList(flat), approvals ?? []) : await this.get(id);
    if (!request) return { outcome: "missing" };
    if (outcome === "expired") return { outcome, expiresAt: Number(detail), request };
    return { outcome: outcome as "approved" | "recorded" | "duplicate", request };
  }

  /** Ids of requests in a state, oldest first. */
  async idsInState(state: RequestState, limit = 100): Promise<string[]> {
    return this.redis.zrange(`${this.prefix}:state:${state}`, "0", String(limit - 1));
  }

  /** Open (PENDING or APPROVED) requests, oldest first. */
  async openRequests(limit = 50): Promise<ChangeRequest[]> {
    const ids = [
      ...(await this.idsInState("PENDING", limit)),
      ...(await this.idsInState("APPROVED", limit)),
    ];
    const requests = await this.getMany(ids);
    return requests
      .filter((r) => OPEN_STATES.has(r.state))
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** A requester's requests, newest first. */
  async requestsOf(userId: string, limit = 10): Promise<ChangeRequest[]> {
    const ids = await this.redis.zrevrange(`${this.prefix}:user-requests:${userId}`, 0, limit - 1);
    return this.getMany(ids);
  }

  /** The open requests for a target, whichever of its kind's actions they ask for. */
  async openRequestsFor(
    where: { tenant: string; kind: ChangeKindName },
    targetId: string,
  ): Promise<ChangeRequest[]> {
    const ids = await Promise.all(
      changeKind(where.kind).actions.map((action) =>
        this.redis.get(`${this.prefix}:open:${openKeySuffix({ ...where, action }, targetId)}`),
      ),
    );
    const requests = await this.getMany(ids.filter((id): id is string => Boolean(id)));
    return requests.filter((r) => OPEN_STATES.has(r.state));
  }

  /**
   * Forgets settled requests older than the retention: their hashes have expired (or, stored by
   * earlier versions, are deleted here); their ids leave the state and requester indexes. Open
   * requests are never touched. Returns how many it forgot.
   */
  async forgetSettled(): Promise<number> {
    const cutoff = String(this.now() - this.retentionMs);
    let forgotten = 0;
    for (const state of FINAL_STATES) {
      const key = `${this.prefix}:state:${state}`;
      const ids = await this.redis.zrangebyscore(key, "-inf", cutoff, "LIMIT", 0, 10_000);
      if (ids.length === 0) continue;
      await this.redis.zrem(key, ...ids);
      await this.redis.del(...ids.flatMap((id) => [this.key(id), `${this.key(id)}:approvals`]));
      forgotten += ids.length;
    }
    for await (const keys of scanKeys(this.redis, `${this.prefix}:user-requests:*`, 500)) {
      for (const key of keys) {
        const old = await this.redis.zrangebyscore(key, "-inf", cutoff, "LIMIT", 0, 1_000);
        const exists = await Promise.all(old.map((id) => this.redis.exists(this.key(id))));
        const gone = old.filter((_, i) => exists[i] === 0);
        if (gone.length > 0) await this.redis.zrem(key, ...gone);
      }
    }
    return forgotten;
  }

  /**
   * Brings open requests stored before change kinds into today's shape (settled ones are read
   * as they are). Idempotent; run at start. Returns how many it rewrote.
   */
  async migrateLegacyRequests(tenant = DEFAULT_TENANT): Promise<number> {
    let migrated = 0;
    for (const state of OPEN_STATES) {
      for (const id of await this.idsInState(state, 100_000)) {
        migrated += Number(await this.redis.migrateRequest(this.key(id), this.prefix, id, tenant));
      }
    }
    return migrated;
  }
}

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext> {
    createRequest(...args: string[]): Result<unknown, Context>;
    transitionRequest(...args: string[]): Result<unknown, Context>;
    approveRequest(...args: string[]): Result<unknown, Context>;
    refuseClick(...args: string[]): Result<unknown, Context>;
    migrateRequest(...args: string[]): Result<unknown, Context>;
    remindRequest(...args: string[]): Result<unknown, Context>;
  }
}
