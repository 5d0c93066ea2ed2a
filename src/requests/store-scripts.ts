/*
 * The Lua scripts behind RequestStore. Every change of a request is one script, so two clicks,
 * two approvers, a Slack retry or two bot replicas can never both win it, and every change writes
 * its audit event to the stream in the same atomic step: no state change without its event, no
 * event without its change. Each script is called with one declared key, KEYS[1], the request's
 * own ({p}:request:{id}), which a Redis Cluster routes it by; the scripts derive every key they
 * touch from the prefix p (ARGV[1]), so in a Cluster, where p is a hash tag, all of them are in
 * KEYS[1]'s slot, on the node the script runs on. Keys:
 *   {p}:request:{id}              hash, the request
 *   {p}:request:{id}:approvals    sorted set, approver -> when
 *   {p}:state:{STATE}             sorted set, ids by time of entering the state
 *   {p}:open:{tenant}:{kind}:{action}:{target}   the open request for a target and action
 *   {p}:open-name:{tenant}:{kind}:{action}:{name}  the same, by the target's name (so a request
 *                                 by name is refused without asking Auth0 for the id)
 *   {p}:user-open:{user}          set, a requester's open requests
 *   {p}:user-requests:{user}      sorted set, a requester's requests by creation time
 *   {p}:refused:{id}:{user}       marks a refused click audited within the flood window
 *   {p}:audit                     stream, the audit trail
 * A settled request's hash and approvals expire after the retention; the sorted sets are trimmed
 * by time (RequestStore.forgetSettled).
 */

/** Helpers every script shares. */
const LIB = `
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

-- Appends one event about request id to the audit stream; the request's own fields say what
-- it is about. extra: more field/value pairs (approvers, required).
local function audit(p, id, key, event, actor, at, detail, extra)
  local f = redis.call('HMGET', key, 'kind', 'tenant', 'action', 'targetId', 'targetName', 'dryRun', 'connectionId', 'connectionName')
  local fields = {'event', event, 'requestId', id,
    'kind', f[1] or 'connection-domain-level', 'tenant', f[2] or 'default', 'action', f[3] or 'promote',
    'targetId', f[4] or f[7] or '', 'targetName', f[5] or f[8] or '', 'at', at, 'dryRun', f[6] or '0'}
  if actor and actor ~= '' then fields[#fields + 1] = 'actorId'; fields[#fields + 1] = actor end
  if detail and detail ~= '' then fields[#fields + 1] = 'detail'; fields[#fields + 1] = detail end
  for i = 1, #(extra or {}) do fields[#fields + 1] = extra[i] end
  return redis.call('XADD', p .. ':audit', '*', unpack(fields))
end

-- Who approved so far and how many are needed, as audit fields.
local function progress(key)
  local approvers = redis.call('ZRANGE', key .. ':approvals', 0, -1)
  local required = redis.call('HGET', key, 'requiredApprovals') or '1'
  return {'approvers', table.concat(approvers, ','), 'required', required}
end

-- Moves a request to state, releases what a settled request held, and lets its keys expire
-- after the retention once it is settled.
local function move(p, id, key, from, to, now, retentionMs)
  redis.call('HSET', key, 'state', to)
  redis.call('ZREM', p .. ':state:' .. from, id)
  redis.call('ZADD', p .. ':state:' .. to, now, id)
  if to ~= 'PENDING' and to ~= 'APPROVED' then
    release(p, id, key)
    redis.call('PEXPIRE', key, retentionMs)
    redis.call('PEXPIRE', key .. ':approvals', retentionMs)
  end
end

local function expire(p, id, key, now, retentionMs)
  move(p, id, key, 'PENDING', 'EXPIRED', now, retentionMs)
  redis.call('HSET', key, 'completedAt', now)
  audit(p, id, key, 'expired', '', now, '', progress(key))
end

-- A PENDING request past its expiry time can no longer be decided: it expires, here and now.
local function overdue(p, id, key, now, retentionMs)
  local expiresAt = tonumber(redis.call('HGET', key, 'expiresAt'))
  if expiresAt and tonumber(now) >= expiresAt then
    expire(p, id, key, now, retentionMs)
    return tostring(expiresAt)
  end
  return nil
end
`;

/**
 * ARGV: prefix, id, now, maxOpen, open key suffix (tenant:kind:action:target), requesterId,
 * requested event's detail, open-name key suffix (tenant:kind:action:name), field/value pairs…
 */
export const CREATE_SCRIPT = `${LIB}
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
local key = p .. ':request:' .. id
redis.call('HSET', key, unpack(ARGV, 9))
redis.call('ZADD', p .. ':state:PENDING', now, id)
redis.call('SET', openKey, id)
redis.call('SET', p .. ':open-name:' .. ARGV[8], id)
redis.call('SADD', userOpen, id)
redis.call('ZADD', p .. ':user-requests:' .. ARGV[6], now, id)
audit(p, id, key, 'requested', ARGV[6], now, ARGV[7])
return {'ok'}
`;

/**
 * Requests stored before change kinds held a connection's fields at the top level and their open
 * key was {p}:open:{action}:{connectionId}. Rewrites one such request in today's shape and moves
 * its open key. ARGV: prefix, id, tenant. Returns 1 when it migrated something.
 */
export const MIGRATE_SCRIPT = `
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

/**
 * Moves a request from one state to another and records the event. A PENDING request past its
 * expiry time is expired instead, whatever was asked. ARGV: prefix, id, from, to, now,
 * retentionMs, event, actor, detail, field/value pairs…
 * Returns {'ok'} | {'missing'} | {'conflict', state} | {'expired', expiresAt}.
 */
export const TRANSITION_SCRIPT = `${LIB}
local p, id, from, to, now, retentionMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local event, actor, detail = ARGV[7], ARGV[8], ARGV[9]
local key = p .. ':request:' .. id
local state = redis.call('HGET', key, 'state')
if not state then return {'missing'} end
if state ~= from then return {'conflict', state} end
if from == 'PENDING' then
  if to == 'EXPIRED' then
    expire(p, id, key, now, retentionMs)
    return {'ok'}
  end
  local expiredAt = overdue(p, id, key, now, retentionMs)
  if expiredAt then return {'expired', expiredAt} end
end
for i = 10, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
move(p, id, key, from, to, now, retentionMs)
if event ~= '' then audit(p, id, key, event, actor, now, detail) end
return {'ok'}
`;

/**
 * Records one approver's approval. The request becomes APPROVED when the number of distinct
 * approvers reaches its requiredApprovals; the same person approving twice counts once; a request
 * past its expiry time expires instead. ARGV: prefix, id, approver, now, retentionMs.
 * Returns {outcome, detail[, request hash, approvers]}: the request comes back with the answer,
 * saving the click a round trip.
 */
export const APPROVE_SCRIPT = `${LIB}
local p, id, user, now, retentionMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = p .. ':request:' .. id
local state = redis.call('HGET', key, 'state')
if not state then return {'missing', '0'} end
if state ~= 'PENDING' then return {'conflict', state} end
local expiredAt = overdue(p, id, key, now, retentionMs)
if expiredAt then
  return {'expired', expiredAt, redis.call('HGETALL', key), redis.call('ZRANGE', key .. ':approvals', 0, -1)}
end
local approvals = key .. ':approvals'
if redis.call('ZSCORE', approvals, user) then
  return {'duplicate', tostring(redis.call('ZCARD', approvals))}
end
redis.call('ZADD', approvals, now, user)
local n = redis.call('ZCARD', approvals)
local required = tonumber(redis.call('HGET', key, 'requiredApprovals')) or 1
local outcome = 'recorded'
if n >= required then
  redis.call('HSET', key, 'decidedBy', user, 'decidedAt', now)
  move(p, id, key, 'PENDING', 'APPROVED', now, retentionMs)
  outcome = 'approved'
end
audit(p, id, key, outcome == 'approved' and 'approved' or 'approval', user, now, '', progress(key))
return {outcome, tostring(n), redis.call('HGETALL', key), redis.call('ZRANGE', approvals, 0, -1)}
`;

/**
 * Audits a refused click or submission, at most once per person and request within the window,
 * so that a flood of clicks cannot bury the trail. ARGV: prefix, id, user, now, windowMs, detail.
 * Returns 1 when it recorded the event.
 */
export const REFUSE_SCRIPT = `${LIB}
local p, id, user, now, windowMs, detail = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key = p .. ':request:' .. id
if redis.call('EXISTS', key) == 0 then return 0 end
if not redis.call('SET', p .. ':refused:' .. id .. ':' .. user, now, 'NX', 'PX', windowMs) then return 0 end
audit(p, id, key, 'refused', user, now, detail)
return 1
`;

/**
 * A pending request's one reminder. "claim" sets remindedAt, once: only while the request is
 * PENDING and before its expiry time, and only if nobody has; "release" gives back a claim that
 * could not be posted (only the claimer's, by its time). ARGV: prefix, id, claim|release, now.
 * Returns 'ok', or why not: 'missing', 'reminded', 'expired' or the request's state.
 */
export const REMIND_SCRIPT = `
local key, mode, now = KEYS[1], ARGV[3], ARGV[4]
if mode == 'release' then
  if redis.call('HGET', key, 'remindedAt') == now then redis.call('HDEL', key, 'remindedAt') end
  return 'ok'
end
local f = redis.call('HMGET', key, 'state', 'expiresAt', 'remindedAt')
if not f[1] then return 'missing' end
if f[1] ~= 'PENDING' then return f[1] end
if tonumber(now) >= (tonumber(f[2]) or 0) then return 'expired' end
if f[3] then return 'reminded' end
redis.call('HSET', key, 'remindedAt', now)
return 'ok'
`;
