-- Reads one verification's live state; changes nothing.
-- KEYS[1] verification hash  otp:{<tenant>:<rh>}:v:<vid>
-- Returns {status, attempts_remaining, expires_at_ms, channel} or {'not_found'}. A pending
-- verification past its expiry reads as expired (check.lua settles it, with its event).
local v = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'max_attempts', 'expires_at_ms',
                     'channel')
if not v[1] then return {'not_found'} end
local status = v[1]
if status == 'pending' and redis_now_ms() >= tonumber(v[4]) then status = 'expired' end
local remaining = tonumber(v[3]) - tonumber(v[2])
if remaining < 0 then remaining = 0 end
return {status, string.format('%d', remaining), v[4], v[5]}
