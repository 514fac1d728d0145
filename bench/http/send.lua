-- wrk script: POST /otp/send with a fresh recipient per request (so per-destination limits never
-- apply) and the dev key's credentials. Counts answers by status and prints them at the end,
-- because wrk itself only reports "non-2xx". See docs/performance.md (HTTP intake) and bench/http/run.sh.
--
--   OTP_DEV_API_KEY=... OTP_DEV_API_SECRET=... [BENCH_PREFER=respond-async] wrk -t2 -c200 -d20s -s bench/http/send.lua URL

local key = os.getenv("OTP_DEV_API_KEY") or "dev"
local secret = os.getenv("OTP_DEV_API_SECRET") or ""
local tenant = os.getenv("OTP_DEV_TENANT") or "dev"
-- BENCH_PREFER=respond-async: the intake answers 202 once Kafka acknowledged the request.
local prefer = os.getenv("BENCH_PREFER") or ""
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  counter = 0
  math.randomseed(id * 7919 + os.time())
end

function request()
  counter = counter + 1
  -- +1 415 555 xxxx: valid for libphonenumber, never a real subscriber.
  local recipient = string.format("+1415555%04d", (counter * 7 + id * 1237) % 10000)
  local body = string.format('{"appid":"%s","recipient":"%s","channel":"sms"}', tenant, recipient)
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-API-Key"] = key,
    ["X-API-Secret"] = secret,
  }
  if prefer ~= "" then headers["Prefer"] = prefer end
  return wrk.format("POST", "/otp/send", headers, body)
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
