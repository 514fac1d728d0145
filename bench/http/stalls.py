#!/usr/bin/env python3
"""Tells a sync run's tail apart: stalls bunched in time, or steady queueing.

usage: stalls.py TRACE [--gc GC_LOG] [--samples SAMPLES] [--all]

TRACE is `otp-loadgen --trace` output (BENCH_TRACE of bench/http/run.sh). The requests are grouped
into 100 ms windows by their due time. A window is stalled when its median is at least 15 ms, or
when at least 5 % of its requests took 20 ms or more. For each stalled window (every window with
--all) it prints the window's median and maximum, the broker's collector pauses that began within
150 ms before to 100 ms after the window's start (GC_LOG: a JVM log written with
`-Xlog:gc:file=GC_LOG:uptimemillis,time`, see OTP_KAFKA_GC_OPTS in scripts/stack), and the
processes that ran or waited for a CPU in it (SAMPLES: bench/http/sample_cpu.py output, which
BENCH_SAMPLE of bench/http/run.sh writes), as comm:pid:cpu_ms:wait_ms.
"""
import argparse
import collections
import datetime
import re
import sys

WINDOW_MS = 100
SLOW_MS = 20.0


def read_trace(path):
    start_ms = None
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                fields = line.split()
                if len(fields) == 3 and fields[1] == "started_unix_ms":
                    start_ms = int(fields[2])
                continue
            due, latency = line.split()[:2]
            rows.append((float(due), float(latency)))
    return start_ms, rows


def read_gc(path):
    pauses = []
    pattern = re.compile(r"\[(\S+?)([+-]\d{4})\].*Pause (.+?) ([\d.]+)ms$")
    with open(path) as f:
        for line in f:
            m = pattern.match(line.strip())
            if not m:
                continue
            when = datetime.datetime.strptime(m.group(1) + m.group(2), "%Y-%m-%dT%H:%M:%S.%f%z")
            kind = m.group(3).split(" (")[0]
            pauses.append((when.timestamp() * 1000, kind, float(m.group(4))))
    return pauses


def read_samples(path):
    samples = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if fields:
                samples.append((int(fields[0]), fields[1:]))
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("trace")
    parser.add_argument("--gc")
    parser.add_argument("--samples")
    parser.add_argument("--all", action="store_true", help="print every window")
    args = parser.parse_args()

    start_ms, rows = read_trace(args.trace)
    if not rows:
        sys.exit(f"{args.trace}: no requests")
    if (args.gc or args.samples) and start_ms is None:
        sys.exit(f"{args.trace}: no '# started_unix_ms' line (an older otp-loadgen)")
    latencies = sorted(latency for _, latency in rows)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    windows = collections.defaultdict(list)
    for due, latency in rows:
        windows[int(due // WINDOW_MS)].append(latency)
    pauses = read_gc(args.gc) if args.gc else []
    samples = read_samples(args.samples) if args.samples else []

    stalled = 0
    in_stalls = 0
    lines = []
    for w in sorted(windows):
        values = sorted(windows[w])
        median, worst = values[len(values) // 2], values[-1]
        slow = sum(1 for v in values if v >= SLOW_MS) / len(values)
        is_stall = median >= 15.0 or slow >= 0.05
        if is_stall:
            stalled += 1
            in_stalls += sum(1 for v in values if v >= p99)
        if not (is_stall or args.all):
            continue
        line = f"{w * WINDOW_MS / 1000:6.1f}s median={median:5.1f} max={worst:6.1f} slow={slow:4.0%}"
        if start_ms is not None and (pauses or samples):
            t0 = start_ms + w * WINDOW_MS
            gc = [f"{t - t0:+.0f}ms:{kind}:{ms:.0f}ms" for t, kind, ms in pauses
                  if t0 - 150 <= t <= t0 + WINDOW_MS]
            if args.gc:
                line += f" gc=[{' '.join(gc)}]"
            if samples:
                procs = [" ".join(parts) for t, parts in samples if t0 < t <= t0 + WINDOW_MS]
                line += " | " + " ".join(procs)
        lines.append(line)
    at_or_above = sum(1 for v in latencies if v >= p99)
    print(f"requests={len(latencies)} p50={latencies[len(latencies) // 2]:.1f}ms p99={p99:.1f}ms; "
          f"stalled windows: {stalled} of {len(windows)}, holding {in_stalls} of the "
          f"{at_or_above} requests at or above the p99")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
