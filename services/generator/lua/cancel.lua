-- Cancels a pending verification. A request id is answered once; a redelivery gets the stored
-- answer. A settled verification (canceled included) is left as it is.
-- KEYS[1] verification hash  otp:{<tenant>:<rh>}:v:<vid>
-- ARGV    request id
-- Returns {'canceled'|'unchanged', status, at_ms} or {'not_found'}.
local vkey = KEYS[1]
local rfield = 'c:' .. ARGV[1]
local v = redis.call('HMGET', vkey, 'status', 'expires_at_ms', rfield)
if not v[1] then return {'not_found'} end
if v[3] then
  local answer = {}
  for part in string.gmatch(v[3], '[^|]+') do answer[#answer + 1] = part end
  return answer
end

local now = redis_now_ms()
local result
if v[1] == 'pending' and now < tonumber(v[2]) then
  redis.call('HSET', vkey, 'status', 'canceled', 'canceled_at_ms', string.format('%d', now))
  result = {'canceled', 'canceled', string.format('%d', now)}
elseif v[1] == 'pending' then
  -- Expired but not yet settled by a check: answered as expired, left for check.lua.
  result = {'unchanged', 'expired', string.format('%d', now)}
else
  result = {'unchanged', v[1], string.format('%d', now)}
end
redis.call('HSET', vkey, rfield, table.concat(result, '|'))
return result
