-- Stores a new verification, or answers a replayed request with the one it created.
-- KEYS[1] verification hash  otp:{<tenant>:<rh>}:v:<vid>
-- KEYS[2] request marker     otp:{<tenant>:<rh>}:req:<request_id>  (same slot: same hash tag)
-- KEYS[3] recent sends       otp:{<tenant>:<rh>}:sends  (sorted set: vid by issue time ms)
-- KEYS[4] failure record     otp:{<tenant>:<rh>}:fails  (hash, written by check.lua)
-- KEYS[5] current pointer    otp:{<tenant>:<rh>}:current  (vid of the latest verification, for
--                            verify by recipient)
-- ARGV    vid, code hmac, hmac key id, max attempts, ttl ms, retention ms, channel, code length,
--         sealed key id, sealed data, request id, sends per window, window ms
-- Returns {'created'|'replayed', vid, created_at_ms, expires_at_ms, channel, code_length,
--          max_attempts, sealed_key_id, sealed_data, status, window_used, window_reset_ms,
--          failures} (the send window as this send left it and the subject's consecutive failed
--          checks at issue, kept for replays; failures '-1' = not kept), {'conflict'}, {'gone'},
--          {'rate_limited', retry_after_ms} or {'locked', retry_after_ms}.
local vkey, rkey, skey, fkey, ckey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

local function stored(outcome)
  local v = redis.call('HMGET', vkey, 'vid', 'created_at_ms', 'expires_at_ms', 'channel',
                       'code_length', 'max_attempts', 'sealed_key_id', 'sealed_data', 'status',
                       'window_used', 'window_reset_ms', 'failures_at_issue')
  if not v[1] then return {'gone'} end
  return {outcome, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10] or '0',
          v[11] or '0', v[12] or '-1'}
end

local prior = redis.call('GET', rkey)
if prior then
  -- The request id was used before: for this verification it is a replay, for another one the
  -- publisher reused a request id, and nothing new may be stored under it.
  if prior ~= vkey then return {'conflict'} end
  return stored('replayed')
end
if redis.call('EXISTS', vkey) == 1 then return {'conflict'} end

-- Expiry comes from Redis's clock so that every generator instance agrees on it.
local now = redis_now_ms()
-- Limits apply to new verifications only: a replay above got its stored answer.
local fails = redis.call('HMGET', fkey, 'until_ms', 'n')
local until_ms = tonumber(fails[1] or '0')
if until_ms > now then return {'locked', string.format('%d', until_ms - now)} end
local limit, window = tonumber(ARGV[12]), tonumber(ARGV[13])
local wait, used, reset = take_send_slot(skey, ARGV[1], limit, window, now)
if wait then return {'rate_limited', string.format('%d', wait)} end

local ttl = tonumber(ARGV[5])
local keep = ttl + tonumber(ARGV[6])
local created_at, expires_at = string.format('%d', now), string.format('%d', now + ttl)
local window_used, window_reset = string.format('%d', used), string.format('%d', reset)
local failures = fails[2] or '0'
redis.call('HSET', vkey,
  'vid', ARGV[1], 'hmac', ARGV[2], 'key_id', ARGV[3], 'status', 'pending', 'attempts', '0',
  'max_attempts', ARGV[4], 'created_at_ms', created_at, 'expires_at_ms', expires_at,
  'channel', ARGV[7], 'code_length', ARGV[8], 'sealed_key_id', ARGV[9], 'sealed_data', ARGV[10],
  'request_id', ARGV[11], 'window_used', window_used, 'window_reset_ms', window_reset,
  'failures_at_issue', failures, 'ttl_ms', string.format('%d', ttl))
redis.call('PEXPIRE', vkey, keep)
redis.call('SET', rkey, vkey, 'PX', keep)
if ckey then redis.call('SET', ckey, ARGV[1], 'PX', keep) end
-- What `stored` would read back, without reading it back.
return {'created', ARGV[1], created_at, expires_at, ARGV[7], ARGV[8], ARGV[4], ARGV[9], ARGV[10],
        'pending', window_used, window_reset, failures}
