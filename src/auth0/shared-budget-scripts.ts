/**
 * The shared Auth0 budget's Lua scripts (see shared-budget.ts): each runs atomically in Redis, on
 * Redis's clock, so that every process of the fleet sees one bucket.
 */

/** The budget's size is this many requests short of Auth0's bucket, never spent to its last. */
const RESERVE = 1;
/** Before anything is learnt: one request per 2 s (a non-production tenant allows under 1/s). */
const INITIAL_RATE_PER_MS = 0.5 / 1000;
/** The rate never drops below this after 429s. */
const MIN_RATE_PER_MS = 0.05 / 1000;
const MAX_PAUSE_MS = 60_000;
/** A call counted in flight for longer than this without an answer is forgotten. */
const INFLIGHT_TIMEOUT_MS = 30_000;
/** Added to the time until Auth0's reset when estimating its rate: the answer's travel time. */
const LATENCY_MARGIN_MS = 50;

const LIB = `
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function num(v, d) local n = tonumber(v) if n == nil then return d end return n end
-- The bucket as stored, refilled up to now (nothing refills while paused).
local function load(key, t)
  local h = redis.call('HMGET', key, 'tokens', 'inflight', 'updatedAt', 'rate', 'capacity',
    'pausedUntil', 'probeUntil', 'learnt', 'changesWaitUntil', 'rateCap', 'inflightAt', 'granted',
    'answered')
  local b = {
    tokens = num(h[1], 0), inflight = num(h[2], 0), updatedAt = num(h[3], t),
    rate = num(h[4], ${INITIAL_RATE_PER_MS}), capacity = num(h[5], 1), pausedUntil = num(h[6], 0),
    probeUntil = num(h[7], 0), learnt = h[8] == '1', changesWaitUntil = num(h[9], 0),
    rateCap = num(h[10], 0), inflightAt = num(h[11], 0), granted = num(h[12], 0),
    answered = num(h[13], 0)
  }
  -- Calls whose answer never came (a process died mid-call) stop counting after a while.
  if t - b.inflightAt > ${INFLIGHT_TIMEOUT_MS} then b.inflight = 0 end
  local from = math.max(b.updatedAt, math.min(b.pausedUntil, t))
  if t > from then
    b.tokens = math.min(b.capacity, b.tokens + (t - from) * b.rate)
  end
  b.updatedAt = t
  return b
end
local function save(key, b)
  redis.call('HSET', key, 'tokens', b.tokens, 'inflight', b.inflight, 'inflightAt', b.inflightAt,
    'updatedAt', b.updatedAt, 'rate', b.rate, 'capacity', b.capacity, 'pausedUntil', b.pausedUntil,
    'probeUntil', b.probeUntil, 'learnt', b.learnt and '1' or '0',
    'changesWaitUntil', b.changesWaitUntil, 'rateCap', b.rateCap, 'granted', b.granted,
    'answered', b.answered)
  redis.call('PEXPIRE', key, 86400000)
end
`;

/**
 * Takes one token for a call, or says how long to wait. KEYS[1]: the budget. ARGV: priority
 * ("change" | "lookup"), lookup share, probe timeout (ms), ceiling (per ms; 0: none).
 * Returns {granted (0/1), wait ms, tokens believed left, rate per second, the grant's number}:
 * grants are numbered in the order they were given, so that an answer can be told from an older one.
 */
export const TAKE = `${LIB}
local key, priority, share, probeMs, ceiling = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = now()
local b = load(key, t)
if ceiling > 0 and b.rate > ceiling then b.rate = ceiling end
local function answer(granted, wait)
  if granted == 1 then
    b.inflight = b.inflight + 1; b.inflightAt = t; b.granted = b.granted + 1
  end
  save(key, b)
  return {granted, math.ceil(wait), tostring(b.tokens), tostring(b.rate * 1000), granted == 1 and b.granted or 0}
end
if t < b.pausedUntil then return answer(0, b.pausedUntil - t) end
if b.probeUntil > 0 then
  if t < b.probeUntil then return answer(0, math.min(100, b.probeUntil - t)) end
  b.probeUntil = 0 -- no answer came back; carry on from our own count
end
if priority == 'lookup' and t < b.changesWaitUntil then
  return answer(0, math.max(1, b.changesWaitUntil - t))
end
if not b.learnt then
  -- Nothing known about Auth0's bucket yet: this request goes alone, the others wait for its answer.
  b.probeUntil = t + probeMs
  b.tokens = 0
  return answer(1, 0)
end
-- Lookups never take the part of the bucket kept for approved changes.
local floor = 0
if priority == 'lookup' then floor = math.floor(b.capacity * (1 - share)) end
if b.tokens < 1 + floor then
  local wait = (1 + floor - b.tokens) / b.rate
  if priority == 'change' then b.changesWaitUntil = math.max(b.changesWaitUntil, t + wait + 50) end
  return answer(0, wait)
end
b.tokens = b.tokens - 1
return answer(1, 0)
`;

/**
 * What an answer said about Auth0's bucket. KEYS[1]: the budget. ARGV: limit, remaining, reset
 * (UNIX seconds), lookup share, ceiling (per ms; 0: none), the call's grant number; '' for a
 * header that was absent (or a call made without a number).
 */
export const OBSERVE = `${LIB}
local key, share, ceiling = KEYS[1], tonumber(ARGV[4]), tonumber(ARGV[5])
local limit, remaining, reset = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local grant = tonumber(ARGV[6])
local t = now()
local b = load(key, t)
b.probeUntil = 0
b.inflight = math.max(0, b.inflight - 1)
if limit and limit > 0 then b.capacity = math.max(1, limit - ${RESERVE}) end
-- Answers may arrive out of order (two processes, two connections): one to a call granted
-- before a call already answered says less than that one did, and may only lower our count.
local newest = grant == nil or grant > b.answered
if grant and grant > b.answered then b.answered = grant end
if remaining then
  -- Auth0's count after this call, less the calls it has not seen yet, is the truth; with a
  -- ceiling set, or from an older answer, it may only lower ours.
  local told = remaining - b.inflight
  if b.learnt and (ceiling > 0 or not newest) then
    b.tokens = math.min(b.tokens, told)
  else
    b.tokens = told
  end
  b.learnt = true
end
if limit and remaining and reset then
  local missing, untilFull = limit - remaining, reset * 1000 - t
  if missing >= 1 and untilFull > 0 then
    -- The answer took time to reach us and Redis: count that time as still to wait, so the
    -- estimate stays below the true rate.
    local estimate = missing / (untilFull + ${LATENCY_MARGIN_MS})
    if b.rateCap > 0 then estimate = math.min(estimate, b.rateCap) end
    if estimate > b.rate then b.rate = estimate end
  end
end
if ceiling > 0 and b.rate > ceiling then b.rate = ceiling end
b.tokens = math.min(b.tokens, b.capacity)
save(key, b)
return tostring(b.tokens)
`;

/** Auth0 answered 429: every process waits for the reset. KEYS[1]. ARGV: until (ms), share. */
export const PAUSE = `${LIB}
local key, untilMs, share = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local t = now()
local b = load(key, t)
b.rateCap = math.max(${MIN_RATE_PER_MS}, b.rate * 0.9)
b.rate = math.max(${MIN_RATE_PER_MS}, b.rate / 2)
local target = math.min(untilMs, t + ${MAX_PAUSE_MS})
if target > b.pausedUntil then b.pausedUntil = target end
-- By the reset Auth0 has refilled at least one token: one request goes then, alone.
b.tokens = 1
b.learnt = false
save(key, b)
return b.pausedUntil - t
`;
