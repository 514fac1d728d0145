#!/usr/bin/env python3
"""Samples every process's CPU and run-queue wait every 100 ms, for bench/http/stalls.py.

usage: sample_cpu.py OUT SECONDS

Each line of OUT: the Unix time in ms, then one `comm:pid:cpu_ms:wait_ms` per process that ran
or waited for a CPU at least 2 ms in the last 100 ms. cpu_ms and wait_ms are summed over the
process's threads from /proc/PID/task/TID/schedstat (time on a CPU, time runnable but waiting
for one). A process that waits much more than it runs was starved of CPU in that window.
"""
import os
import sys
import time

INTERVAL_S = 0.1
MIN_NS = 2_000_000


def snapshot():
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip().replace(" ", "_")
            cpu = wait = 0
            for tid in os.listdir(f"/proc/{pid}/task"):
                try:
                    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                        fields = f.read().split()
                    cpu += int(fields[0])
                    wait += int(fields[1])
                except OSError:
                    pass  # the thread ended
            found[pid] = (comm, cpu, wait)
        except OSError:
            pass  # the process ended
    return found


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: sample_cpu.py OUT SECONDS")
    out_path, seconds = sys.argv[1], float(sys.argv[2])
    own = str(os.getpid())
    with open(out_path, "w") as out:
        before = snapshot()
        end = time.time() + seconds
        while time.time() < end:
            time.sleep(INTERVAL_S)
            now = time.time()
            after = snapshot()
            parts = []
            for pid, (comm, cpu, wait) in after.items():
                if pid == own:
                    continue
                old = before.get(pid, (comm, 0, 0))
                d_cpu, d_wait = cpu - old[1], wait - old[2]
                if d_cpu >= MIN_NS or d_wait >= MIN_NS:
                    parts.append(f"{comm}:{pid}:{d_cpu // 1_000_000}:{d_wait // 1_000_000}")
            out.write(f"{now * 1000:.0f} {' '.join(parts)}\n")
            out.flush()
            before = after


if __name__ == "__main__":
    main()
