#!/usr/bin/env bash
# Why the server's runtime threads leave the CPU: every time a `tokio-rt-worker` thread
# blocks (sched_switch away in state S or D) during SECONDS, counted by where it blocked —
# a SQLite mutex, a glibc malloc arena lock, the stderr lock of the access log, or parked
# with no work (epoll or tokio's park). Run it while a load runs (docs/BENCHMARKS-HISTORY.md,
# fifth round), e.g.
#   wrk -t2 -c256 -d10s -s verify.lua http://127.0.0.1:8080/api/v1/verify &
#   sleep 2; scripts/lock_sleeps.sh "$(pgrep -f 'mpass serve')" 4
# Needs perf (Debian: linux-perf) and permission to trace the process.
set -euo pipefail
pid=$1 secs=${2:-4}
data=$(mktemp /tmp/lock_sleeps.XXXXXX)
trap 'rm -f "$data"' EXIT
perf record -q -e sched:sched_switch -g -p "$pid" -o "$data" -- sleep "$secs" >/dev/null 2>&1
perf script -i "$data" 2>/dev/null | python3 -c '
import collections, sys
counts = collections.Counter()
current, stack = None, []
def category(frames):
    s = " ".join(frames)
    if any(k in s for k in ("sqlite3", "pcache", "btree", "getPage", "unixShm")):
        return "sqlite"
    if "lll_lock_wait_private" in s:
        return "malloc (glibc private lock)"
    if "Stderr" in s:
        return "stderr (access log)"
    if "epoll_wait" in s or "park" in s:
        return "parked (no work)"
    return "other"
def flush():
    if current and current[0] == "tokio-rt-worker" and current[1] in ("S", "D"):
        counts[category(stack)] += 1
for line in sys.stdin:
    if "sched:sched_switch" in line:
        flush()
        stack = []
        state = line.split("prev_state=")[1].split()[0] if "prev_state=" in line else "?"
        current = (line.split()[0], state)
    else:
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            stack.append(parts[1])
flush()
total = sum(counts.values())
print(f"runtime threads blocked {total} times in '"$secs"' s:")
for k, v in counts.most_common():
    print(f"  {v:7d}  {k}")
'
