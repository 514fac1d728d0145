-- Delivers a pending verification again. A request id is answered once; a redelivery gets the
-- stored answer. Never touches attempts or the failure record (resends do not reset them).
-- KEYS[1] verification hash  otp:{<tenant>:<rh>}:v:<vid>
-- KEYS[2] recent sends       otp:{<tenant>:<rh>}:sends  (shared with issue.lua)
-- ARGV    request id, new code ('1' policy new, '0' policy same), code hmac, sealed key id,
--         sealed data, ttl ms, retention ms, cooldown ms, sends per window, window ms,
--         new code's length ('0': not checked)
-- Returns {'resent'|'replayed', channel, code_length, attempts_remaining, sealed_key_id,
--          sealed_data, send_number, sent_at_ms, expires_at_ms, status, window_used,
--          window_reset_ms}, {'not_found'},
--          {'not_pending', status}, {'cooldown', retry_after_ms},
--          {'rate_limited', retry_after_ms} or {'wrong_length', code_length} (a new code must have
--          the verification's length: draw again; nothing changed).
-- A new code lives as long as the verification's own TTL (recorded at issue as ttl_ms; a send
-- may override the tenant's), else ARGV[6].
local vkey, skey = KEYS[1], KEYS[2]
local rfield = 'rs:' .. ARGV[1]
local v = redis.call('HMGET', vkey, 'status', 'attempts', 'max_attempts', 'expires_at_ms',
                     'created_at_ms', 'sent_at_ms', 'sends', 'channel', 'code_length',
                     'sealed_key_id', 'sealed_data', 'vid', rfield, 'ttl_ms')
if not v[1] then return {'not_found'} end
if v[13] then
  local answer = {}
  for part in string.gmatch(v[13], '[^|]+') do answer[#answer + 1] = part end
  answer[1] = 'replayed'
  return answer
end

local now = redis_now_ms()
local status, expires = v[1], tonumber(v[4])
-- An expired code is not resent; the status is left for check.lua to settle (with its event).
if status == 'pending' and now >= expires then return {'not_pending', 'expired'} end
if status ~= 'pending' then return {'not_pending', status} end
if ARGV[2] == '1' and ARGV[11] and ARGV[11] ~= '0' and v[9] and v[9] ~= ARGV[11] then
  return {'wrong_length', v[9]}
end
local ttl = tonumber(v[14] or ARGV[6])

local last = tonumber(v[6] or v[5])
local cooldown = tonumber(ARGV[8])
if now < last + cooldown then
  return {'cooldown', string.format('%d', last + cooldown - now)}
end
local limit, window = tonumber(ARGV[9]), tonumber(ARGV[10])
local n = tonumber(v[7] or '1') + 1
local wait, used, reset = take_send_slot(skey, v[12] .. ':' .. n, limit, window, now)
if wait then return {'rate_limited', string.format('%d', wait)} end
local sealed_key_id, sealed_data = v[10], v[11]
if ARGV[2] == '1' then
  -- A new code: the old HMAC is overwritten, so the old code no longer verifies.
  sealed_key_id, sealed_data = ARGV[4], ARGV[5]
  expires = now + ttl
  redis.call('HSET', vkey, 'hmac', ARGV[3], 'sealed_key_id', sealed_key_id, 'sealed_data',
             sealed_data, 'expires_at_ms', string.format('%d', expires))
  redis.call('PEXPIRE', vkey, string.format('%d', ttl + tonumber(ARGV[7])))
end
redis.call('HSET', vkey, 'sent_at_ms', string.format('%d', now), 'sends', string.format('%d', n))
local remaining = tonumber(v[3]) - tonumber(v[2])
if remaining < 0 then remaining = 0 end
local result = {'resent', v[8], v[9], string.format('%d', remaining), sealed_key_id, sealed_data,
                string.format('%d', n), string.format('%d', now), string.format('%d', expires),
                status, string.format('%d', used), string.format('%d', reset)}
redis.call('HSET', vkey, rfield, table.concat(result, '|'))
return result
