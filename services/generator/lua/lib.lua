-- Shared by every generator script: CMake prepends this file to each of them (Redis scripts
-- cannot call one another), so send and resend count sends per destination the same way.

-- Milliseconds on Redis's clock, which every generator instance agrees on.
local function redis_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Sliding window of sends per destination. Takes a slot for `member` and returns nil, the sends
-- now in the window (this one included) and the milliseconds until the oldest leaves it; or
-- takes nothing and returns the milliseconds until the oldest send leaves the window.
local function take_send_slot(skey, member, limit, window, now)
  redis.call('ZREMRANGEBYSCORE', skey, '-inf', string.format('%d', now - window))
  local used = redis.call('ZCARD', skey)
  if used >= limit then
    local oldest = redis.call('ZRANGE', skey, 0, 0, 'WITHSCORES')
    return tonumber(oldest[2]) + window - now
  end
  redis.call('ZADD', skey, string.format('%d', now), member)
  redis.call('PEXPIRE', skey, string.format('%d', window))
  local oldest = now
  if used > 0 then oldest = tonumber(redis.call('ZRANGE', skey, 0, 0, 'WITHSCORES')[2]) end
  return nil, used + 1, oldest + window - now
end

