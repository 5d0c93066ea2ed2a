import type { ClientContext, Redis, Result } from "ioredis";
import {
  type DcrStatus,
  type NewPromotionRequest,
  newRequestId,
  OPEN_STATES,
  type PromotionRequest,
  type RequestAction,
  type RequestState,
} from "./model.js";
import { fromFieldList, toFieldList } from "./redis-fields.js";

/*
 * Every change of a request is one Lua script, so two clicks, two approvers, a Slack retry or two
 * bot replicas can never both win it. Keys (single Redis node; scripts derive them from the
 * prefix):
 *   {p}:request:{id}              hash, the request
 *   {p}:request:{id}:approvals    sorted set, approver -> when
 *   {p}:state:{STATE}             sorted set, ids by time of entering the state
 *   {p}:open:{action}:{conn}      the open request for a connection and action
 *   {p}:user-open:{user}          set, a requester's open requests
 *   {p}:user-requests:{user}      sorted set, a requester's requests by creation time
 */

const RELEASE = `
local function release(p, id, key)
  local f = redis.call('HMGET', key, 'action', 'connectionId', 'requesterId')
  local openKey = p .. ':open:' .. f[1] .. ':' .. f[2]
  if redis.call('GET', openKey) == id then redis.call('DEL', openKey) end
  redis.call('SREM', p .. ':user-open:' .. f[3], id)
end
`;

/** ARGV: prefix, id, now, maxOpen, action, connectionId, requesterId, field/value pairs… */
const CREATE_SCRIPT = `
local p, id, now, maxOpen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local openKey = p .. ':open:' .. ARGV[5] .. ':' .. ARGV[6]
local existing = redis.call('GET', openKey)
if existing then
  local st = redis.call('HGET', p .. ':request:' .. existing, 'state')
  if st == 'PENDING' or st == 'APPROVED' then return {'duplicate', existing} end
end
local userOpen = p .. ':user-open:' .. ARGV[7]
local n = redis.call('SCARD', userOpen)
if n >= maxOpen then return {'limit', tostring(n)} end
redis.call('HSET', p .. ':request:' .. id, unpack(ARGV, 8))
redis.call('ZADD', p .. ':state:PENDING', now, id)
redis.call('SET', openKey, id)
redis.call('SADD', userOpen, id)
redis.call('ZADD', p .. ':user-requests:' .. ARGV[7], now, id)
return {'ok'}
`;

/** ARGV: prefix, id, from, to, now, field/value pairs… */
const TRANSITION_SCRIPT = `${RELEASE}
local p, id, from, to, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p .. ':request:' .. id
local state = redis.call('HGET', key, 'state')
if not state then return {'missing'} end
if state ~= from then return {'conflict', state} end
redis.call('HSET', key, 'state', to)
for i = 6, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
redis.call('ZREM', p .. ':state:' .. from, id)
redis.call('ZADD', p .. ':state:' .. to, now, id)
if to ~= 'PENDING' and to ~= 'APPROVED' then release(p, id, key) end
return {'ok'}
`;

/**
 * Records one approver's approval. The request becomes APPROVED when the number of distinct
 * approvers reaches its requiredApprovals; the same person approving twice counts once.
 * ARGV: prefix, id, approver, now. Returns {outcome, count[, request hash, approvers]}: the
 * request comes back with the answer, saving the click a round trip.
 */
const APPROVE_SCRIPT = `
local p, id, user, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local key = p .. ':request:' .. id
local state = redis.call('HGET', key, 'state')
if not state then return {'missing', '0'} end
if state ~= 'PENDING' then return {'conflict', state} end
local approvals = key .. ':approvals'
if redis.call('ZSCORE', approvals, user) then
  return {'duplicate', tostring(redis.call('ZCARD', approvals))}
end
redis.call('ZADD', approvals, now, user)
local n = redis.call('ZCARD', approvals)
local required = tonumber(redis.call('HGET', key, 'requiredApprovals')) or 1
local outcome = 'recorded'
if n >= required then
  redis.call('HSET', key, 'state', 'APPROVED', 'decidedBy', user, 'decidedAt', now)
  redis.call('ZREM', p .. ':state:PENDING', id)
  redis.call('ZADD', p .. ':state:APPROVED', now, id)
  outcome = 'approved'
end
return {outcome, tostring(n), redis.call('HGETALL', key), redis.call('ZRANGE', approvals, 0, -1)}
`;

export type CreateResult =
  | { ok: true; request: PromotionRequest }
  | { ok: false; reason: "duplicate"; openRequestId: string }
  | { ok: false; reason: "limit"; open: number };

export type TransitionResult =
  | { ok: true; request: PromotionRequest }
  | { ok: false; reason: "missing" }
  | { ok: false; reason: "conflict"; current: RequestState };

export type ApproveResult =
  | { outcome: "approved" | "recorded" | "duplicate"; request: PromotionRequest }
  | { outcome: "missing" }
  | { outcome: "conflict"; current: RequestState };

type Fields = Partial<Record<keyof PromotionRequest, string | number | boolean | undefined>>;

function num(v: string | undefined): number | undefined {
  return v === undefined || v === "" ? undefined : Number(v);
}

function fromHash(h: Record<string, string>, approvals: string[]): PromotionRequest | undefined {
  if (!h.id || !h.state) return undefined;
  return {
    id: h.id,
    action: (h.action as RequestAction) ?? "promote",
    state: h.state as RequestState,
    connectionId: h.connectionId ?? "",
    connectionName: h.connectionName ?? "",
    displayName: h.displayName,
    strategy: h.strategy ?? "",
    wasDomainConnection: h.wasDomainConnection === "1",
    reason: h.reason ?? "",
    requesterId: h.requesterId ?? "",
    teamId: h.teamId ?? "",
    dcr: (h.dcr as DcrStatus) ?? "unknown",
    createdAt: num(h.createdAt) ?? 0,
    requiredApprovals: num(h.requiredApprovals) ?? 1,
    approvals,
    dryRun: h.dryRun === "1",
    expiresAt: num(h.expiresAt) ?? 0,
    decidedBy: h.decidedBy,
    decidedAt: num(h.decidedAt),
    denyReason: h.denyReason,
    completedAt: num(h.completedAt),
    outcome: h.outcome,
    approvalChannel: h.approvalChannel,
    approvalTs: h.approvalTs,
    auditThreadTs: h.auditThreadTs,
    auditPermalink: h.auditPermalink,
  };
}

export interface CreateOptions {
  ttlMs: number;
  maxOpenPerUser: number;
}

/**
 * Requests live in Redis only, so any replica can serve any click and a restart loses nothing.
 */
export class RequestStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    if (!this.redis.createRequest) {
      this.redis.defineCommand("createRequest", { numberOfKeys: 0, lua: CREATE_SCRIPT });
      this.redis.defineCommand("transitionRequest", { numberOfKeys: 0, lua: TRANSITION_SCRIPT });
      this.redis.defineCommand("approveRequest", { numberOfKeys: 0, lua: APPROVE_SCRIPT });
    }
  }

  private key(id: string): string {
    return `${this.prefix}:request:${id}`;
  }

  /**
   * Stores a new PENDING request, unless the connection already has an open request for the same
   * action (the answer names it) or the requester holds too many open ones.
   */
  async create(input: NewPromotionRequest, options: CreateOptions): Promise<CreateResult> {
    const createdAt = this.now();
    const request: PromotionRequest = {
      ...input,
      id: newRequestId(),
      state: "PENDING",
      createdAt,
      expiresAt: createdAt + options.ttlMs,
      approvals: [],
      decidedBy: undefined,
      decidedAt: undefined,
      denyReason: undefined,
      completedAt: undefined,
      outcome: undefined,
      approvalChannel: undefined,
      approvalTs: undefined,
      auditThreadTs: undefined,
      auditPermalink: undefined,
    };
    const result = (await this.redis.createRequest(
      this.prefix,
      request.id,
      String(createdAt),
      String(options.maxOpenPerUser),
      request.action,
      request.connectionId,
      request.requesterId,
      ...toFieldList({ ...request }),
    )) as [string, string?];
    if (result[0] === "duplicate") {
      return { ok: false, reason: "duplicate", openRequestId: result[1] ?? "" };
    }
    if (result[0] === "limit") return { ok: false, reason: "limit", open: Number(result[1]) };
    return { ok: true, request };
  }

  async get(id: string): Promise<PromotionRequest | undefined> {
    const [hash, approvals] = await Promise.all([
      this.redis.hgetall(this.key(id)),
      this.redis.zrange(`${this.key(id)}:approvals`, "0", "-1"),
    ]);
    return fromHash(hash, approvals);
  }

  async getMany(ids: string[]): Promise<PromotionRequest[]> {
    const found = await Promise.all(ids.map((id) => this.get(id)));
    return found.filter((r): r is PromotionRequest => r !== undefined);
  }

  /** Sets fields that are not part of the state machine (e.g. where the approval message is). */
  async annotate(id: string, fields: Fields): Promise<void> {
    const pairs = toFieldList(fields);
    if (pairs.length > 0) await this.redis.hset(this.key(id), pairs);
  }

  async transition(
    id: string,
    from: RequestState,
    to: RequestState,
    fields: Fields = {},
  ): Promise<TransitionResult> {
    const result = (await this.redis.transitionRequest(
      this.prefix,
      id,
      from,
      to,
      String(this.now()),
      ...toFieldList(fields),
    )) as [string, string?];
    if (result[0] === "missing") return { ok: false, reason: "missing" };
    if (result[0] === "conflict") {
      return { ok: false, reason: "conflict", current: result[1] as RequestState };
    }
    const request = await this.get(id);
    if (!request) return { ok: false, reason: "missing" };
    return { ok: true, request };
  }

  /** One approver's approval; see APPROVE_SCRIPT. */
  async approve(id: string, approverId: string): Promise<ApproveResult> {
    const [outcome, detail, flat, approvals] = (await this.redis.approveRequest(
      this.prefix,
      id,
      approverId,
      String(this.now()),
    )) as [string, string, string[]?, string[]?];
    if (outcome === "missing") return { outcome: "missing" };
    if (outcome === "conflict") return { outcome: "conflict", current: detail as RequestState };
    const request = flat ? fromHash(fromFieldList(flat), approvals ?? []) : await this.get(id);
    if (!request) return { outcome: "missing" };
    return { outcome: outcome as "approved" | "recorded" | "duplicate", request };
  }

  /** Ids of requests in a state, oldest first. */
  async idsInState(state: RequestState, limit = 100): Promise<string[]> {
    return this.redis.zrange(`${this.prefix}:state:${state}`, "0", String(limit - 1));
  }

  /** Open (PENDING or APPROVED) requests, oldest first. */
  async openRequests(limit = 50): Promise<PromotionRequest[]> {
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
  async requestsOf(userId: string, limit = 10): Promise<PromotionRequest[]> {
    const ids = await this.redis.zrevrange(`${this.prefix}:user-requests:${userId}`, 0, limit - 1);
    return this.getMany(ids);
  }

  /** The open request for a connection, if any (either action). */
  async openRequestsFor(connectionId: string): Promise<PromotionRequest[]> {
    const ids = await Promise.all(
      (["promote", "demote"] as const).map((a) =>
        this.redis.get(`${this.prefix}:open:${a}:${connectionId}`),
      ),
    );
    const requests = await this.getMany(ids.filter((id): id is string => Boolean(id)));
    return requests.filter((r) => OPEN_STATES.has(r.state));
  }
}

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext> {
    createRequest(...args: string[]): Result<unknown, Context>;
    transitionRequest(...args: string[]): Result<unknown, Context>;
    approveRequest(...args: string[]): Result<unknown, Context>;
  }
}
