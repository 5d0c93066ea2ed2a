import type { ClientContext, Redis, Result } from "ioredis";
import {
  type DcrStatus,
  type NewPromotionRequest,
  newRequestId,
  type PromotionRequest,
  type RequestState,
} from "./model.js";

/**
 * Moves a request from one state to another only if it is still in the expected one, and keeps
 * the per-state index in step. One script, so two clicks, two approvers, a Slack retry or two
 * bot replicas can never both win the same transition.
 *   KEYS[1] request hash  KEYS[2] index of the expected state  KEYS[3] index of the new state
 *   ARGV[1] expected state  ARGV[2] new state  ARGV[3] now (ms)  ARGV[4..] field, value pairs
 * Returns {"ok"} or {"missing"} or {"conflict", current state}.
 */
const TRANSITION_SCRIPT = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
if state ~= ARGV[1] then return {'conflict', state} end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZREM', KEYS[2], redis.call('HGET', KEYS[1], 'id'))
redis.call('ZADD', KEYS[3], ARGV[3], redis.call('HGET', KEYS[1], 'id'))
return {'ok'}
`;

export type TransitionResult =
  | { ok: true; request: PromotionRequest }
  | { ok: false; reason: "missing" }
  | { ok: false; reason: "conflict"; current: RequestState };

type Fields = Partial<Record<keyof PromotionRequest, string | number | boolean | undefined>>;

function toHash(fields: Fields): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out.push(k, typeof v === "boolean" ? (v ? "1" : "0") : String(v));
  }
  return out;
}

function num(v: string | undefined): number | undefined {
  return v === undefined || v === "" ? undefined : Number(v);
}

function fromHash(h: Record<string, string>): PromotionRequest | undefined {
  if (!h.id || !h.state) return undefined;
  return {
    id: h.id,
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
    decidedBy: h.decidedBy,
    decidedAt: num(h.decidedAt),
    completedAt: num(h.completedAt),
    outcome: h.outcome,
    approvalChannel: h.approvalChannel,
    approvalTs: h.approvalTs,
  };
}

/**
 * Requests live in Redis only, so any replica can serve any click and a restart loses nothing.
 * Keys: `{prefix}:request:{id}` (hash) and `{prefix}:state:{STATE}` (sorted set of ids by time).
 */
export class RequestStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    if (!this.redis.transitionRequest) {
      this.redis.defineCommand("transitionRequest", { numberOfKeys: 3, lua: TRANSITION_SCRIPT });
    }
  }

  private key(id: string): string {
    return `${this.prefix}:request:${id}`;
  }

  private stateKey(state: RequestState): string {
    return `${this.prefix}:state:${state}`;
  }

  async create(input: NewPromotionRequest): Promise<PromotionRequest> {
    const request: PromotionRequest = {
      ...input,
      id: newRequestId(),
      state: "PENDING",
      createdAt: this.now(),
      decidedBy: undefined,
      decidedAt: undefined,
      completedAt: undefined,
      outcome: undefined,
      approvalChannel: undefined,
      approvalTs: undefined,
    };
    await this.redis
      .multi()
      .hset(this.key(request.id), toHash(request as unknown as Fields))
      .zadd(this.stateKey("PENDING"), request.createdAt, request.id)
      .exec()
      .then(throwOnMultiError);
    return request;
  }

  async get(id: string): Promise<PromotionRequest | undefined> {
    return fromHash(await this.redis.hgetall(this.key(id)));
  }

  /** Sets fields that are not part of the state machine (e.g. where the approval message is). */
  async annotate(id: string, fields: Fields): Promise<void> {
    const pairs = toHash(fields);
    if (pairs.length > 0) await this.redis.hset(this.key(id), pairs);
  }

  async transition(
    id: string,
    from: RequestState,
    to: RequestState,
    fields: Fields = {},
  ): Promise<TransitionResult> {
    const now = this.now();
    const result = (await this.redis.transitionRequest(
      this.key(id),
      this.stateKey(from),
      this.stateKey(to),
      from,
      to,
      String(now),
      ...toHash(fields),
    )) as [string, string?];
    if (result[0] === "missing") return { ok: false, reason: "missing" };
    if (result[0] === "conflict") {
      return { ok: false, reason: "conflict", current: result[1] as RequestState };
    }
    const request = await this.get(id);
    if (!request) return { ok: false, reason: "missing" };
    return { ok: true, request };
  }

  /** Ids of requests in a state, oldest first. */
  async idsInState(state: RequestState, limit = 100): Promise<string[]> {
    return this.redis.zrange(this.stateKey(state), "0", String(limit - 1));
  }
}

function throwOnMultiError(results: [Error | null, unknown][] | null): void {
  for (const [err] of results ?? []) if (err) throw err;
}

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext> {
    transitionRequest(
      requestKey: string,
      fromIndex: string,
      toIndex: string,
      from: string,
      to: string,
      now: string,
      ...fields: string[]
    ): Result<unknown, Context>;
  }
}
