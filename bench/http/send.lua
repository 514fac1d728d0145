-- wrk script: POST /otp/send with the dev key's credentials, cycling through a pool of requests
-- built once per thread in init(), so the load generator (which shares the machine's cores with
-- the services) formats nothing per request. Recipients: 100,000 distinct numbers
-- (+1 <area> 555 xxxx over ten area codes) split between the threads, so per-destination limits
-- never apply within a run. Counts answers by status and prints them at the end, because wrk
-- itself only reports "non-2xx". See docs/performance.md (HTTP intake) and bench/http/run.sh.
--
--   OTP_DEV_API_KEY=... OTP_DEV_API_SECRET=... [BENCH_PREFER=respond-async] [BENCH_POOL=50000] \
--     wrk -t2 -c200 -d20s -s bench/http/send.lua URL

local key = os.getenv("OTP_DEV_API_KEY") or "dev"
local secret = os.getenv("OTP_DEV_API_SECRET") or ""
local tenant = os.getenv("OTP_DEV_TENANT") or "dev"
-- BENCH_PREFER=respond-async: the intake answers 202 once Kafka acknowledged the request.
local prefer = os.getenv("BENCH_PREFER") or ""
-- Requests per thread; thread k takes numbers k*pool ... (k+1)*pool - 1 of the 100,000.
local pool_size = tonumber(os.getenv("BENCH_POOL") or "50000")
-- +1 <area> 555 xxxx: valid for libphonenumber (and otp::phone), not a working subscriber line
-- in practice; bench/http runs no delivery worker, so nothing is ever sent to them.
local area_codes = { "415", "212", "312", "617", "646", "650", "702", "713", "206", "305" }
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-API-Key"] = key,
    ["X-API-Secret"] = secret,
  }
  if prefer ~= "" then headers["Prefer"] = prefer end
  pool = {}
  for i = 0, pool_size - 1 do
    local n = ((id - 1) * pool_size + i) % 100000
    local recipient = string.format("+1%s555%04d", area_codes[math.floor(n / 10000) + 1], n % 10000)
    local body = string.format('{"appid":"%s","recipient":"%s","channel":"sms"}', tenant, recipient)
    pool[i + 1] = wrk.format("POST", "/otp/send", headers, body)
  end
  next_index = 0
end

function request()
  next_index = next_index % pool_size + 1
  return pool[next_index]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do table.insert(parts, status .. "=" .. count) end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
  io.write(string.format("latency p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
