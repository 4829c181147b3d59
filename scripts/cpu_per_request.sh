#!/usr/bin/env bash
# Server CPU per request, per server thread, during one wrk run against a running server:
# how a request's cost splits between the runtime threads, the SQLite writer and the
# checkpointer, how long each thread waited for a CPU while it could run, and how much of
# the machine stayed idle (docs/BENCHMARKS-HISTORY.md, fourth and thirty-first rounds).
# Per thread from the scheduler's own accounting (/proc/PID/task/*/schedstat, nanoseconds).
#
#   scripts/cpu_per_request.sh SERVER_PID CONNECTIONS SECONDS [wrk arguments: -s script.lua] URL
#
# e.g. with the officers and passes `mpass bench verify --wrk-script verify.lua` prepared:
#   scripts/cpu_per_request.sh "$(pgrep -f 'mpass serve')" 256 8 -s verify.lua http://127.0.0.1:8080/api/v1/verify
set -euo pipefail
pid=$1 conns=$2 secs=$3
shift 3
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 1; }
threads() {  # "name run-ns wait-ns" per thread name, summed
  for t in /proc/"$pid"/task/*; do
    name=$(cat "$t/comm" 2>/dev/null) || continue
    sched=$(cat "$t/schedstat" 2>/dev/null) || continue
    echo "${name// /_} $sched"
  done | awk '{r[$1] += $2; w[$1] += $3} END {for (k in r) print k, r[k], w[k]}'
}
machine() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat; }
t0=$(threads); m0=$(machine); s0=$(date +%s.%N)
out=$(wrk -t2 -c"$conns" -d"${secs}s" "$@")
t1=$(threads); m1=$(machine); s1=$(date +%s.%N)
n=$(echo "$out" | awk '/requests in/ {print $1}')
rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
python3 - "$n" "$rps" "${non2xx:-0}" "$s0" "$s1" "$(getconf CLK_TCK)" "$m0" "$m1" "$t0" "$t1" <<'PY'
import sys
n, rps, bad = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
wall = float(sys.argv[5]) - float(sys.argv[4]); tick = int(sys.argv[6])
m0, m1 = [list(map(int, a.split())) for a in sys.argv[7:9]]
def parse(s): return {l.split()[0]: list(map(int, l.split()[1:])) for l in s.splitlines() if l.strip()}
t0, t1 = parse(sys.argv[9]), parse(sys.argv[10])
def per(i): return {k: (t1[k][i] - t0.get(k, [0, 0])[i]) / 1e3 / n for k in t1 if t1[k][i] - t0.get(k, [0, 0])[i] > 0}
run, wait = per(0), per(1)
print(f"{rps:,.0f} requests/s ({n} in {wall:.1f} s, non-2xx {bad})")
print(f"server CPU per request: {sum(run.values()):.1f} us = " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(run.items()) if v >= 0.05))
print("waiting for a CPU per request: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(wait.items()) if v >= 0.05))
print(f"whole machine busy per request: {(m1[0] - m0[0]) / tick / n * 1e6:.1f} us; idle {(m1[1] - m0[1]) / tick / wall:.2f} cores")
PY
