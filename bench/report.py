#!/usr/bin/env python3
"""Assembles one bench/run's pieces (a work folder) into <out>.json and <out>.md.

Usage: bench/report.py WORK_DIR OUT_PREFIX
"""
import glob
import json
import os
import sys


def load(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def proc_table(path):
    rows = {}
    try:
        with open(path) as f:
            for line in f:
                pid, args, ticks, rss, hwm = line.rstrip("\n").split("\t")
                rows[pid] = {"process": args, "ticks": int(ticks), "rss_kib": int(rss or 0),
                             "peak_rss_kib": int(hwm or 0)}
    except OSError:
        pass
    return rows


def micro_medians(micro):
    out = {}
    if not micro:
        return out
    for b in micro.get("benchmarks", []):
        if b.get("aggregate_name") == "median":
            out[b["run_name"]] = {"real_time": b["real_time"], "unit": b.get("time_unit", "ns")}
    return out


def main():
    work, out = sys.argv[1], sys.argv[2]
    hz = os.sysconf("SC_CLK_TCK")
    report = {"machine": load(os.path.join(work, "machine.json"), {}), "e2e": [], "micro": {}}
    report["micro"] = micro_medians(load(os.path.join(work, "micro.json")))
    for meta_path in sorted(glob.glob(os.path.join(work, "e2e-*-meta.json")),
                            key=lambda p: int(p.split("-")[-2])):
        step = meta_path.split("-")[-2]
        meta = load(meta_path, {})
        loadgen = load(os.path.join(work, f"e2e-{step}-loadgen.json"), {})
        before = proc_table(os.path.join(work, f"e2e-{step}-proc-before.tsv"))
        after = proc_table(os.path.join(work, f"e2e-{step}-proc-after.tsv"))
        processes = []
        wall = meta.get("wall_s") or 1
        for pid, row in after.items():
            ticks = row["ticks"] - before.get(pid, {"ticks": row["ticks"]})["ticks"]
            processes.append({"process": row["process"], "cpu_percent": round(100.0 * ticks / hz / wall, 1),
                              "rss_mib": round(row["rss_kib"] / 1024, 1),
                              "peak_rss_mib": round(row["peak_rss_kib"] / 1024, 1)})
        report["e2e"].append({"step": int(step), "meta": meta, "loadgen": loadgen,
                              "lag_at_end": load(os.path.join(work, f"e2e-{step}-lag-end.json"), {}),
                              "processes": sorted(processes, key=lambda p: p["process"])})
    # Stage benchmarks print their own summaries: kept verbatim.
    report["stages"] = {}
    for name in ("generator", "generator-2", "delivery", "http-async", "http-sync", "http-sync-128",
                 "http-sync-5000", "audit", "audit-2"):
        path = os.path.join(work, name + ".txt")
        if os.path.exists(path):
            with open(path, errors="replace") as f:
                report["stages"][name] = f.read()

    with open(out + ".json", "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")

    m = report["machine"]
    lines = [f"# Benchmark run {m.get('stamp', '?')} (commit {m.get('commit', '?')})", "",
             f"Machine: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory_gib', '?')} GiB; "
             f"load average at start {m.get('load_at_start', '?')}. Everything co-located: Kafka, Redis, "
             "PostgreSQL, the services and the load generator share these cores.", ""]
    if report["e2e"]:
        lines += ["## End to end (send -> fake provider -> verify -> audit row)", "",
                  "| offered flows/s | accepted sends/s | send p50 / p99 / p99.9 ms | send->provider p50 / p99 / p99.9 ms | "
                  "verify p50 / p99 ms | completed flows | audit rows | lag at end |",
                  "|---|---|---|---|---|---|---|---|"]
        for s in report["e2e"]:
            g = s["loadgen"]
            sends, prov, ver = g.get("sends", {}), g.get("provider", {}), g.get("verifies", {})
            sl, pl, vl = sends.get("latency", {}), prov.get("send_to_provider", {}), ver.get("latency", {})
            lag = sum(v for group in s["lag_at_end"].values() for v in group.values() if isinstance(v, int))
            lines.append(
                f"| {s['meta'].get('rate')} | {sends.get('accepted_per_s', 0):.0f} | "
                f"{sl.get('p50_ms', '-')} / {sl.get('p99_ms', '-')} / {sl.get('p999_ms', '-')} | "
                f"{pl.get('p50_ms', '-')} / {pl.get('p99_ms', '-')} / {pl.get('p999_ms', '-')} | "
                f"{vl.get('p50_ms', '-')} / {vl.get('p99_ms', '-')} | {g.get('flows', {}).get('completed', 0)} "
                f"of {g.get('flows_planned', 0)} | {s['meta'].get('audit_rows')} | {lag} |")
        lines += ["", "Send latency counts from each flow's due time (open loop), so queueing shows.", "",
                  "### Processes (per step: CPU over the step, RSS at its end, peak RSS)", ""]
        for s in report["e2e"]:
            lines.append(f"Step {s['step']} ({s['meta'].get('rate')} flows/s):")
            lines.append("")
            lines.append("| process | CPU % | RSS MiB | peak RSS MiB |")
            lines.append("|---|---|---|---|")
            for p in s["processes"]:
                lines.append(f"| {p['process']} | {p['cpu_percent']} | {p['rss_mib']} | {p['peak_rss_mib']} |")
            lines.append("")
    if report["micro"]:
        lines += ["## Micro-benchmarks (median of 3)", "", "| benchmark | time |", "|---|---|"]
        for name, v in sorted(report["micro"].items()):
            lines.append(f"| {name} | {v['real_time']:.0f} {v['unit']} |")
        lines.append("")
    titles = {"generator": "Generator (otp_generator_bench, one instance, 3 runs)",
              "generator-2": "Generator (otp_generator_bench --instances 2: two otp-generator processes, 3 runs)",
              "delivery": "Delivery (otp_delivery_throughput_bench, 100 ms provider)",
              "http-async": "HTTP intake, async (Prefer: respond-async; wrk, 256 connections)",
              "http-sync": "HTTP intake, sync (wrk, 16 connections)",
              "http-sync-128": "HTTP intake, sync (wrk, 128 connections)",
              "http-sync-5000": "HTTP intake, sync, open loop at 5,000 req/s (otp-loadgen)",
              "audit": "Audit ingest (otp_audit_bench, one writer)",
              "audit-2": "Audit ingest (otp_audit_bench --writers 2: two otp-audit processes)"}
    for name, output in report["stages"].items():
        lines += [f"## {titles[name]}", "", "```", output.rstrip()[-6000:], "```", ""]
    with open(out + ".md", "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
