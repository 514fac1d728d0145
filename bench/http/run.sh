#!/usr/bin/env bash
# The HTTP intake benchmark (docs/performance.md, "HTTP intake"): starts otp-intake (and, for the
# sync mode, otp-generator) from a release build against a running infrastructure stack, drives
# POST /otp/send with wrk and bench/http/send.lua, then stops what it started.
#
#   OTP_STACK_DIR=... OTP_PORT_BASE=... scripts/stack up --infra-only --no-build
#   OTP_STACK_DIR=... OTP_PORT_BASE=... bench/http/run.sh BIN_DIR MODE [CONNECTIONS] [DURATION]
#
# MODE: `async` (no generator; every send carries `Prefer: respond-async` and is answered 202 as
# soon as Kafka acknowledged it, docs/http-api.md) or `sync` (the generator answers; 200 with the
# reply). Defaults: 256 connections, 20s. wrk's -t is the number of cores.
#
# With BENCH_RATE=N the requests come open loop at N per second from BIN_DIR/otp-loadgen
# (bench/e2e/loadgen.cc, --no-verify) over CONNECTIONS connections instead of wrk's closed loop:
#   BENCH_RATE=5000 bench/http/run.sh BIN_DIR sync 256 20s
set -euo pipefail

bin_dir=${1:?"usage: run.sh BIN_DIR MODE [CONNECTIONS] [DURATION]"}
mode=${2:?"usage: run.sh BIN_DIR MODE [CONNECTIONS] [DURATION]"}
connections=${3:-256}
duration=${4:-20s}
base=${OTP_PORT_BASE:?OTP_PORT_BASE: set it to the stack port base}
command -v wrk >/dev/null || { echo "wrk not installed (scripts/install-deps)" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # BENCH_LOG_DIR=DIR keeps the services' logs of the run there.
  if [[ -n ${BENCH_LOG_DIR:-} ]]; then mkdir -p "$BENCH_LOG_DIR" && cp "$work"/*.log "$BENCH_LOG_DIR"/; fi
  rm -rf "$work"
}
trap cleanup EXIT

http_port=$((base + 81))
export OTP_KAFKA_BROKERS=127.0.0.1:$((base + 92)) OTP_REDIS_HOST=127.0.0.1 \
  OTP_REDIS_PORT=$((base + 79)) OTP_TOPIC_PREFIX=bench-http-$$. OTP_LOG_LEVEL=warn \
  OTP_SEAL_KEYS="k1:$(openssl rand -base64 32)" OTP_HMAC_KEYS="k1:$(openssl rand -base64 32)" \
  OTP_DEV_TENANT=dev OTP_DEV_API_KEY=bench OTP_DEV_API_SECRET="$(openssl rand -hex 16)" \
  OTP_HTTP_HOST=127.0.0.1 OTP_HTTP_PORT=$http_port OTP_HTTP_THREADS=${OTP_HTTP_THREADS:-2} \
  OTP_TENANT_SETTINGS=env OTP_SEND_RATE_PER_SECOND=10000000 OTP_SEND_BURST=1000000000 \
  OTP_SENDS_PER_DESTINATION=1000000
unset OTP_PG_URL
"$bin_dir/otpctl" topics ensure >/dev/null

export OTP_REPLY_TIMEOUT_MS=3000
if [[ $mode == sync && -z ${BENCH_KEEP_REDIS:-} ]]; then
  # Every sync run starts on an empty Redis (BENCH_KEEP_REDIS=1 keeps it): each send leaves five
  # keys for a day, and a keyspace grown by earlier runs (10 million keys after twenty) made
  # Redis's CPU per request swing from 52 to 99 µs while its hash tables were resized.
  redis-cli -h 127.0.0.1 -p "$OTP_REDIS_PORT" flushall >/dev/null
fi
# setsid: each service in a session of its own, as scripts/stack runs them (and compose, one
# container each). With the kernel's autogroups (sched_autogroup_enabled) a session shares the
# CPUs fairly with the others, so in the load generator's session the intake and the generator
# would split one share with it (docs/performance.md, "Each service in its own session").
if [[ $mode == sync ]]; then
  setsid "$bin_dir/otp-generator" >"$work/generator.log" 2>&1 &
  pids+=($!)
  unset BENCH_PREFER
elif [[ $mode == async ]]; then
  export BENCH_PREFER=respond-async
else
  echo "MODE must be async or sync" >&2; exit 2
fi
# BENCH_INTAKE_KAFKA_PROPERTIES: librdkafka properties for the intake only (OTP_KAFKA_PROPERTIES
# reaches the generator too), e.g. to try producer or consumer settings of the sync path.
OTP_KAFKA_PROPERTIES=${BENCH_INTAKE_KAFKA_PROPERTIES-${OTP_KAFKA_PROPERTIES:-}} \
  setsid "$bin_dir/otp-intake" >"$work/intake.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$http_port/readyz" >/dev/null && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$http_port/readyz" >/dev/null || {
  echo "otp-intake not ready" >&2; tail -20 "$work/intake.log" >&2; exit 1; }

# BENCH_RATE=N: open loop at N requests/s with otp-loadgen (sends only; each latency counts from
# the request's due time, so queueing shows) instead of wrk's closed loop.
rate=${BENCH_RATE:-}
# BENCH_TRACE=FILE: the measured run's per-request trace (otp-loadgen --trace: due ms, latency
# ms, status), to see whether a tail is stalls bunched in time or steady queueing.
loadgen() {  # FIRST_NUMBER DURATION_S [TRACE_FILE]: one open-loop run, JSON on stdout
  local extra=()
  [[ $mode == async ]] && extra=(--header "Prefer: respond-async")
  [[ -n ${3:-} ]] && extra+=(--trace "$3")
  "$bin_dir/otp-loadgen" --port "$http_port" --rate "$rate" --duration "$2" \
    --connections "$connections" --no-verify --drain 10 --tenant "$OTP_DEV_TENANT" \
    --first-number "$1" "${extra[@]}"
}
if [[ -n $rate ]]; then
  [[ -x $bin_dir/otp-loadgen ]] || { echo "BENCH_RATE needs $bin_dir/otp-loadgen" >&2; exit 2; }
  [[ $duration =~ ^[0-9]+s$ ]] || { echo "BENCH_RATE: DURATION must be like 20s" >&2; exit 2; }
fi

# Warm-up (connections, topic metadata, the generator's partitions), then the measured run.
if [[ -n $rate ]]; then
  loadgen 5000000 5 >/dev/null
else
  wrk -t"$(nproc)" -c"$connections" -d5s -s "$here/send.lua" "http://127.0.0.1:$http_port" >/dev/null
fi
echo "mode=$mode connections=$connections duration=$duration${rate:+ rate=$rate/s (open loop)}" \
  "load=$(cut -d' ' -f1-3 /proc/loadavg)"
intake_pid=${pids[-1]}
generator_pid=
[[ $mode == sync ]] && generator_pid=${pids[0]}
# The stack's broker and (sync) Redis (scripts/stack writes their pids): what a request costs them.
kafka_pid=$(head -n 1 "${OTP_STACK_DIR:-.state/dev}/run/kafka.pid" 2>/dev/null || true)
[[ -n $kafka_pid && -r /proc/$kafka_pid/stat ]] || kafka_pid=
redis_pid=
if [[ $mode == sync ]]; then
  redis_pid=$(head -n 1 "${OTP_STACK_DIR:-.state/dev}/run/redis.pid" 2>/dev/null || true)
  [[ -n $redis_pid && -r /proc/$redis_pid/stat ]] || redis_pid=
fi
# utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat, counted from the end because
# the command name in field 2 may contain spaces: the JVM's does not, ours do not).
cpu_ticks_of() { [[ -n $1 ]] && awk '{print $(NF - 38) + $(NF - 37)}' "/proc/$1/stat" || echo 0; }
cpu_ticks() { cpu_ticks_of "$intake_pid"; }
# Context switches of all of a process's threads (voluntary + involuntary): each one is a thread
# wake-up or a preemption, which on this VM cost more than most of the work a request does.
switches_of() {
  [[ -n $1 ]] || { echo 0; return; }
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/ctxt_switches/ {n += $2} END {print n + 0}'
}
perf_pid=
if [[ -n ${BENCH_PERF_OUT:-} ]]; then
  # Optional profile of the measured run: BENCH_PERF_OUT=/tmp/intake.perf.data bench/http/run.sh ...
  perf record -F "${BENCH_PERF_FREQ:-499}" --call-graph dwarf,16384 -o "$BENCH_PERF_OUT" \
    -p "$intake_pid" >/dev/null 2>&1 &
  perf_pid=$!
fi
sampler_pid=
if [[ -n ${BENCH_SAMPLE:-} ]]; then
  # Optional: every process's CPU and run-queue wait per 100 ms of the measured run, for
  # bench/http/stalls.py --samples (BENCH_SAMPLE=/tmp/samples.txt bench/http/run.sh ...).
  python3 "$here/sample_cpu.py" "$BENCH_SAMPLE" "$((${duration%s} + 15))" &
  sampler_pid=$!
fi
ticks_before=$(cpu_ticks)
kafka_before=$(cpu_ticks_of "$kafka_pid")
generator_before=$(cpu_ticks_of "$generator_pid")
redis_before=$(cpu_ticks_of "$redis_pid")
switches_before=()
for pid in "$intake_pid" "$generator_pid" "$kafka_pid" "$redis_pid"; do
  switches_before+=("$(switches_of "$pid")")
done
# `time` (user + system seconds of wrk itself): the load generator shares the cores too.
TIMEFORMAT='%U %S'
if [[ -n $rate ]]; then
  { time loadgen 0 "${duration%s}" "${BENCH_TRACE:-}" >"$work/loadgen.json"; } 2>"$work/wrk.time"
  python3 - "$work/loadgen.json" >"$work/wrk.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["sends"]
lat = s["latency"]
answered = sum(s["by_status"].values())
print(f"{answered} requests in {r['send_phase_s']:.2f}s (open loop, {r['flows_planned']} planned)")
print("statuses: " + " ".join(f"{k}={v}" for k, v in sorted(s["by_status"].items()))
      + f" transport_errors={r['transport_errors']}")
print(f"accepted_per_s={s['accepted_per_s']:.0f}")
if lat.get("count"):
    print(f"latency p50={lat['p50_ms']:.2f}ms p90={lat['p90_ms']:.2f}ms p99={lat['p99_ms']:.2f}ms "
          f"p999={lat['p999_ms']:.2f}ms max={lat['max_ms']:.2f}ms")
PY
  cat "$work/wrk.out"
else
  { time wrk -t"$(nproc)" -c"$connections" -d"$duration" --latency -s "$here/send.lua" \
    "http://127.0.0.1:$http_port" >"$work/wrk.out"; } 2>"$work/wrk.time"
  cat "$work/wrk.out"
fi
ticks_after=$(cpu_ticks)
kafka_after=$(cpu_ticks_of "$kafka_pid")
generator_after=$(cpu_ticks_of "$generator_pid")
redis_after=$(cpu_ticks_of "$redis_pid")
switches_after=()
for pid in "$intake_pid" "$generator_pid" "$kafka_pid" "$redis_pid"; do
  switches_after+=("$(switches_of "$pid")")
done
if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
if [[ -n $sampler_pid ]]; then kill "$sampler_pid" 2>/dev/null; wait "$sampler_pid" || true; fi
# Intake CPU per answered request: moves much less with the shared machine's load than req/s.
requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
awk -v ticks=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
  'BEGIN { if (n > 0) printf "intake cpu=%.2fs requests=%d cpu_us_per_request=%.1f\n", ticks / hz, n, 1e6 * ticks / hz / n }'
per_request() {  # NAME TICKS: CPU of another process per answered request
  awk -v name="$1" -v ticks="$2" -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN { if (n > 0) printf "%s cpu=%.2fs cpu_us_per_request=%.1f\n", name, ticks / hz, 1e6 * ticks / hz / n }'
}
# The load generator's own CPU (wrk, or otp-loadgen with BENCH_RATE).
awk -v n="$requests" -v who="${rate:+loadgen}" '{ if (n > 0)
    printf "%s cpu=%.2fs cpu_us_per_request=%.1f\n", who == "" ? "wrk" : who, $1 + $2, 1e6 * ($1 + $2) / n }' \
  "$work/wrk.time"
[[ -n $kafka_pid ]] && per_request kafka $((kafka_after - kafka_before))
[[ -n $generator_pid ]] && per_request generator $((generator_after - generator_before))
[[ -n $redis_pid ]] && per_request redis $((redis_after - redis_before))
# Context switches per answered request (threads that ended during the run are not counted).
names=(intake generator kafka redis)
for i in 0 1 2 3; do
  [[ ${switches_before[i]} == 0 ]] && continue
  awk -v name="${names[i]}" -v n="$requests" -v d=$((switches_after[i] - switches_before[i])) \
    'BEGIN { if (n > 0) printf "%s switches_per_request=%.2f\n", name, d / n }'
done
echo "intake peak_rss=$(awk '/^VmHWM/ {print $2 " " $3}' "/proc/$intake_pid/status")"
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)"
