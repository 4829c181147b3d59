#!/usr/bin/env python3
"""Prints the SPEC §16 table of docs/BENCHMARKS.md from the JSON summaries of scripts/bench.sh.

usage: scripts/bench_table.py bench-results/
"""
import json
import os
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "bench-results"


def load(name):
    path = os.path.join(out, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def row(summary, step):
    for r in summary["rows"]:
        if r["name"].startswith(step):
            return r
    raise KeyError(step)


def fmt(r, ceiling, summary=None):
    ratio = r["throughput_per_s"] / ceiling if ceiling else 0
    errors = f", {r['errors']} errors ({', '.join(f'{k} {v}' for k, v in r['error_codes'].items())})" if r["errors"] else ""
    # The server's WAL syncs that took over 100 ms in the window: every acknowledgement
    # waiting on one waited that long (a disk slow to flush, not the server's work).
    syncs = (summary or {}).get("server_wal_syncs") or {}
    slow = f"; {syncs['over_100ms']} of the server's {syncs['count']:,} WAL syncs took over 100 ms" if syncs.get("over_100ms") else ""
    return (f"{r['throughput_per_s']:,.0f}/s ({ratio:.2f}× the ceiling), p50 {r['p50_ms']:.1f} ms, "
            f"p99 {r['p99_ms']:.1f} ms, p99.9 {r['p999_ms']:.1f} ms{errors}{slow}")


def verdict(ok):
    return "**met**" if ok else "not met"


ceil = load("ceiling")
c = row(ceil, "healthz")["throughput_per_s"] if ceil else 0
print(f"| measure | measured | target | status |\n|---|---|---|---|")
print(f"| ceiling `GET /healthz`, closed loop, {ceil['concurrency'] if ceil else '-'} | {c:,.0f}/s, p99 {row(ceil, 'healthz')['p99_ms']:.1f} ms | — | — |")
for name, label in [("verify-closed", "online verification, closed loop"),
                    ("verify-position", "online verification with the checkpoint's position, closed loop"),
                    ("verify-half", "online verification offered at a quarter of the ceiling"),
                    ("verify-half-measured", "online verification offered at half the closed-loop rate")]:
    s = load(name)
    if not s:
        continue
    r = row(s, "verify")
    own = s["ceiling"]["throughput_per_s"] if s.get("ceiling") else c
    if name in ("verify-closed", "verify-position"):
        ok = r["throughput_per_s"] >= 0.5 * own
        target = "≥ 0.5× the ceiling"
    elif name == "verify-half":
        ok = r["p99_ms"] <= 10 and r["errors"] == 0
        target = "p99 ≤ 10 ms"
    else:
        ok = None
        target = "(where the latency stands below saturation)"
    if s["mode"] == "closed":
        label = f"{label} {s['concurrency']}"
    print(f"| {label} | {fmt(r, own, s)} | {target} | {'—' if ok is None else verdict(ok)} |")
for name, label in [("submit-closed", "durable submissions, closed loop"),
                    ("submit-5000", "durable submissions offered at 5,000/s")]:
    s = load(name)
    if not s:
        continue
    r = row(s, "submit")
    own = s["ceiling"]["throughput_per_s"] if s.get("ceiling") else c
    # Closed loop: the rate reached must be 5,000/s. Offered 5,000/s: what was carried may
    # fall short by the window's edges (2%), with nothing dropped.
    floor = 5000 if s["mode"] == "closed" else 5000 * 0.98
    ok = r["throughput_per_s"] >= floor and r["p99_ms"] <= 50 and r["errors"] == 0
    if s["mode"] == "closed":
        label = f"{label} {s['concurrency']}"
    print(f"| {label} | {fmt(r, own, s)} | ≥ 5,000/s, p99 ≤ 50 ms | {verdict(ok)} |")
s = load("decide-1000")
if s:
    own = s["ceiling"]["throughput_per_s"] if s.get("ceiling") else c
    sub = row(s, "submit")
    d = row(s, "decision (any)")
    ok = d["p99_ms"] <= 1000 and d["errors"] == 0 and sub["errors"] == 0
    print(f"| submissions while deciding, offered 1,000/s | {fmt(sub, own)} | 1,000/s | — |")
    print(f"| decision latency (submitted → decided, observed) | p50 {d['p50_ms']:.0f} ms, p99 {d['p99_ms']:.0f} ms, "
          f"p99.9 {d['p999_ms']:.0f} ms, {d['ok']} decided, {d['errors']} not within 60 s | p99 ≤ 1 s | {verdict(ok)} |")
s = load("launch-day")
if s:
    r = row(s, "user")
    print(f"| launch-day users (whole day each) | {r['ok']} users, {r['errors']} failed, p50 {r['p50_ms']:.0f} ms, "
          f"p99 {r['p99_ms']:.0f} ms | — | — |")
mem = os.path.join(out, "memory.txt")
if os.path.exists(mem):
    print(f"| peak resident memory of the server over the whole run | {open(mem).read().split(':', 1)[1].strip()} | ≤ 256 MiB | see text |")
