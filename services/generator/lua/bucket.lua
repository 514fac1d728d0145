-- Takes tokens from a tenant's send bucket (a token bucket over all the tenant's sends).
-- KEYS[1] bucket hash  otp:{<tenant>}:bucket  {tokens, at_ms}. Its own hash tag, so in Redis
--         Cluster it lives in another slot than the verifications: a separate script call.
-- ARGV    refill rate (tokens per second, may be fractional), capacity (burst), and optionally
--         how many sends want a token (a batch of the tenant's sends: one call for all of them)
-- Returns, for one send: {'ok'} or {'limited', retry_after_ms}; with a count: {'granted', n,
-- retry_after_ms} (the first n sends got a token; the others may retry after retry_after_ms).
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local want = tonumber(ARGV[3] or '0')
local now = redis_now_ms()

local b = redis.call('HMGET', KEYS[1], 'tokens', 'at_ms')
local tokens, at = tonumber(b[1] or '') or burst, tonumber(b[2] or '') or now
if now > at then tokens = math.min(burst, tokens + (now - at) * rate / 1000) end
if tokens > burst then tokens = burst end

local result
if want > 0 then
  local granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
  local wait = 0
  if granted < want then wait = math.ceil((1 - tokens) * 1000 / rate) end
  result = {'granted', string.format('%d', granted), string.format('%d', wait)}
elseif tokens >= 1 then
  tokens = tokens - 1
  result = {'ok'}
else
  result = {'limited', string.format('%d', math.ceil((1 - tokens) * 1000 / rate))}
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at_ms',
           string.format('%d', math.max(now, at)))
-- An idle bucket is full again after burst / rate seconds; keep it no longer than that.
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(burst * 1000 / rate) + 1000))
return result
