import type { ClientContext, Redis, Result } from "ioredis";
import { changeKind, type TargetRef } from "./changes/index.js";
import {
  type ChangeKindName,
  type ChangeRequest,
  DEFAULT_TENANT,
  type NewChangeRequest,
  newRequestId,
  OPEN_STATES,
  type RequestState,
} from "./model.js";
import { fromFieldList, toFieldList } from "./redis-fields.js";
import { fromHash, toHash } from "./request-hash.js";

/*
 * Every change of a request is one Lua script, so two clicks, two approvers, a Slack retry or two
 * bot replicas can never both win it. Keys (single Redis node; scripts derive them from the
 * prefix):
 *   {p}:request:{id}              hash, the request
 *   {p}:request:{id}:approvals    sorted set, approver -> when
 *   {p}:state:{STATE}             sorted set, ids by time of entering the state
 *   {p}:open:{tenant}:{kind}:{action}:{target}   the open request for a target and action
 *   {p}:open-name:{tenant}:{kind}:{action}:{name}  the same, by the target's name (so a request
 *                                 by name is refused without asking Auth0 for the id)
 *   {p}:user-open:{user}          set, a requester's open requests
 *   {p}:user-requests:{user}      sorted set, a requester's requests by creation time
 */

const RELEASE = `
local function release(p, id, key)
  local f = redis.call('HMGET', key, 'tenant', 'kind', 'action', 'targetId', 'requesterId', 'connectionId', 'targetName')
  local openKey
  if f[2] then
    openKey = p .. ':open:' .. f[1] .. ':' .. f[2] .. ':' .. f[3] .. ':' .. f[4]
    local nameKey = p .. ':open-name:' .. f[1] .. ':' .. f[2] .. ':' .. f[3] .. ':' .. (f[7] or '')
    if redis.call('GET', nameKey) == id then redis.call('DEL', nameKey) end
  else
    -- A request stored before change kinds, not yet migrated.
    openKey = p .. ':open:' .. f[3] .. ':' .. f[6]
  end
  if redis.call('GET', openKey) == id then redis.call('DEL', openKey) end
  redis.call('SREM', p .. ':user-open:' .. f[5], id)
end
`;

/**
 * ARGV: prefix, id, now, maxOpen, open key suffix (tenant:kind:action:target), requesterId,
 * open-name key suffix (tenant:kind:action:name), field/value pairs…
 */
const CREATE_SCRIPT = `
local p, id, now, maxOpen = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local openKey = p .. ':open:' .. ARGV[5]
local existing = redis.call('GET', openKey)
if existing then
  local st = redis.call('HGET', p .. ':request:' .. existing, 'state')
  if st == 'PENDING' or st == 'APPROVED' then return {'duplicate', existing} end
end
local userOpen = p .. ':user-open:' .. ARGV[6]
local n = redis.call('SCARD', userOpen)
if n >= maxOpen then return {'limit', tostring(n)} end
redis.call('HSET', p .. ':request:' .. id, unpack(ARGV, 8))
redis.call('ZADD', p .. ':state:PENDING', now, id)
redis.call('SET', openKey, id)
redis.call('SET', p .. ':open-name:' .. ARGV[7], id)
redis.call('SADD', userOpen, id)
redis.call('ZADD', p .. ':user-requests:' .. ARGV[6], now, id)
return {'ok'}
`;

/**
 * Requests stored before change kinds held a connection's fields at the top level and their open
 * key was {p}:open:{action}:{connectionId}. Rewrites one such request in today's shape and moves
 * its open key. ARGV: prefix, id, tenant. Returns 1 when it migrated something.
 */
const MIGRATE_SCRIPT = `
local p, id, tenant = ARGV[1], ARGV[2], ARGV[3]
local key = p .. ':request:' .. id
if redis.call('HEXISTS', key, 'kind') == 1 or redis.call('EXISTS', key) == 0 then return 0 end
local f = redis.call('HMGET', key, 'action', 'connectionId', 'connectionName', 'displayName', 'strategy', 'wasDomainConnection', 'dcr')
redis.call('HSET', key, 'kind', 'connection-domain-level', 'tenant', tenant, 'targetId', f[2], 'targetName', f[3] or '')
local facts = {'fact.displayName', f[4], 'fact.strategy', f[5], 'fact.wasDomainConnection', f[6], 'fact.dcr', f[7]}
for i = 1, #facts, 2 do
  if facts[i + 1] then redis.call('HSET', key, facts[i], facts[i + 1]) end
end
redis.call('HDEL', key, 'connectionId', 'connectionName', 'displayName', 'strategy', 'wasDomainConnection', 'dcr')
local oldOpen = p .. ':open:' .. f[1] .. ':' .. f[2]
if redis.call('GET', oldOpen) == id then
  redis.call('DEL', oldOpen)
  redis.call('SET', p .. ':open:' .. tenant .. ':connection-domain-level:' .. f[1] .. ':' .. f[2], id, 'NX')
end
return 1
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
  | { ok: true; request: ChangeRequest }
  | { ok: false; reason: "duplicate"; openRequestId: string }
  | { ok: false; reason: "limit"; open: number };

export type CreateRefusal = Exclude<CreateResult, { ok: true }>;

export type TransitionResult =
  | { ok: true; request: ChangeRequest }
  | { ok: false; reason: "missing" }
  | { ok: false; reason: "conflict"; current: RequestState };

export type ApproveResult =
  | { outcome: "approved" | "recorded" | "duplicate"; request: ChangeRequest }
  | { outcome: "missing" }
  | { outcome: "conflict"; current: RequestState };

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
      this.redis.defineCommand("migrateRequest", { numberOfKeys: 0, lua: MIGRATE_SCRIPT });
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
    const request: ChangeRequest = {
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
      openKeySuffix(request, request.target.id),
      request.requesterId,
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
   * Brings open requests stored before change kinds into today's shape (settled ones are read
   * as they are). Idempotent; run at start. Returns how many it rewrote.
   */
  async migrateLegacyRequests(tenant = DEFAULT_TENANT): Promise<number> {
    let migrated = 0;
    for (const state of OPEN_STATES) {
      for (const id of await this.idsInState(state, 100_000)) {
        migrated += Number(await this.redis.migrateRequest(this.prefix, id, tenant));
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
    migrateRequest(...args: string[]): Result<unknown, Context>;
  }
}
