#!/usr/bin/env bash
# A check of `mpass bench` by an external tool: wrk and `mpass bench` against the same
# fresh server, one after the other, for the ceiling (GET /healthz), for durable
# submissions (POST /api/v1/applications, CITIZENS citizens taking turns, for each tool) and for online
# verification (POST /api/v1/verify: the officers and passes `mpass bench verify
# --wrk-script` prepared, taking turns), without and with the checkpoint's position on
# each check (`--position`), and the plain check by wrk with a browser's Accept-Encoding.
# The ratios of the two tools should agree within noise (docs/BENCHMARKS.md, "Checked
# with wrk").
#
#   cargo build --release && scripts/bench_wrk.sh
#
# Needs wrk, curl and jq. Environment: PORT (8091), DURATION (10), CONNECTIONS (64),
# CITIZENS (64), VERIFY_CONNECTIONS (256, as scripts/bench.sh), OFFICERS (per tool; by
# default enough for checks at 0.6 times wrk's /healthz rate for DURATION, at least 3000:
# an officer may check 120 passes a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MPASS_BIN:-target/release/mpass}
PORT=${PORT:-8091}
URL=http://127.0.0.1:$PORT
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
DATA=$(mktemp -d /tmp/mpass-wrk.XXXXXX)
LUA=$DATA/post.lua
[ -x "$BIN" ] || { echo "build first: cargo build --release" >&2; exit 1; }
for tool in wrk curl jq; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }; done

export MPASS_DATA_DIR="$DATA" MPASS_LOG_FORMAT=json MPASS_OTP_PER_IP_PER_MINUTE=1000000 MPASS_MAX_CONNECTIONS_PER_IP=0 MPASS_SUBMISSIONS_PER_CITIZEN_PER_HOUR=1000000
MPASS_LISTEN=127.0.0.1:$PORT "$BIN" serve >"$DATA/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.2; done

# CITIZENS citizens (default 64): login code from the dev outbox, token, profile.
CITIZENS=${CITIZENS:-64}
login() {
  local phone=$1 code="" token
  curl -sf -X POST "$URL/api/v1/auth/otp" -H 'content-type: application/json' -d "{\"phone\":\"$phone\"}" >/dev/null
  for _ in $(seq 1 100); do
    code=$(curl -sf "$URL/api/v1/dev/outbox?phone=$phone" | jq -r '.messages[0].body // ""' \
      | grep -oE '[0-9]{6}' | head -1 || true)
    [ -n "$code" ] && break; sleep 0.1
  done
  [ -n "$code" ] || { echo "no login code for $phone in the outbox" >&2; exit 1; }
  token=$(curl -sf -X POST "$URL/api/v1/auth/token" -H 'content-type: application/json' \
    -d "{\"phone\":\"$phone\",\"code\":\"$code\"}" | jq -r .access_token)
  curl -sf -X PUT "$URL/api/v1/me/profile" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d "{\"name\":\"Rahima Akter\",\"date_of_birth\":\"1990-04-12\",\"gender\":\"F\",\"id_type\":\"NID\",\"id_number\":\"19901234${phone:6}\",\"home_area\":\"30260014\"}" >/dev/null
  echo "$token"
}
tokens=""
for i in $(seq 1 "$CITIZENS"); do
  tokens+="\"$(login "$(printf '013123%05d' "$i")")\","
done
start=$(date -u -d 'tomorrow 04:00' +%Y-%m-%dT%H:%M:%SZ)
cat >"$LUA" <<LUA
-- Each request is one of the citizens' submissions, the citizens taking turns; the
-- requests are formatted once per wrk thread, not once per request.
local tokens = { $tokens }
local body = '{"reason":"medical","from":{"area":"30260014","address":"House 12, Road 4"},"to":{"area":"30262000","address":"City Hospital"},"start":"$start","duration_hours":2,"trip":"one_way","companions":[]}'
local requests = {}
local n = 0
init = function(args)
  for i = 1, #tokens do
    local headers = { ["content-type"] = "application/json", ["authorization"] = "Bearer " .. tokens[i] }
    requests[i] = wrk.format("POST", nil, headers, body)
  end
end
request = function()
  n = n + 1
  return requests[(n % #requests) + 1]
end
LUA

# Waits until the decisions and SMS of the submissions before are done (the worker's
# processed-jobs counter stops moving), so that each measurement starts on an idle server.
drain() {
  local last=-1 now
  while true; do
    now=$(curl -sf "$URL/metrics" | awk '/^mpass_jobs_processed_total/ {print $2}')
    [ "$now" = "$last" ] && return
    last=$now; sleep 2
  done
}

# wrk_rate NAME wrk-arguments...: runs wrk, shows its rate, median, p99 and any non-2xx answers,
# and keeps the rate as rate_NAME (none when some answers were not 2xx: an error is cheaper
# than a check, and would flatter the ratio).
wrk_rate() {
  local name=$1 out rate
  shift
  out=$(wrk -t2 -d"${DURATION}s" --latency "$@")
  echo "$out" | grep -E "Requests/sec|^ +(50|99)%|Non-2xx"
  rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  echo "$out" | grep -q "Non-2xx" && rate=""
  printf -v "rate_$name" '%s' "$rate"
}

echo "== wrk GET /healthz"
wrk_rate healthz -c"$CONNECTIONS" "$URL/healthz"
echo "== mpass bench ceiling"
"$BIN" bench ceiling --url "$URL" --concurrency "$CONNECTIONS" --duration "$DURATION" --quiet | grep -E "^healthz"
echo "== wrk POST /api/v1/applications (202 = committed)"
wrk_rate submit -c"$CONNECTIONS" -s "$LUA" "$URL/api/v1/applications"
drain
echo "== mpass bench submit (closed loop, $CITIZENS citizens taking turns, as wrk)"
"$BIN" bench submit --url "$URL" --concurrency "$CONNECTIONS" --citizens "$CITIZENS" --duration "$DURATION" --quiet | grep -E "^submit"

# Online verification: wrk with the officers and passes `mpass bench` prepared, then `mpass
# bench verify` with as many connections and its own officers (so that neither run meets
# the per-officer limit the other left behind).
drain
VERIFY_CONNECTIONS=${VERIFY_CONNECTIONS:-256}
# An officer may check 120 passes a minute: a fast host ran 3,000 officers out of checks
# within one window, and the answers turned 429 (twentieth round).
OFFICERS=${OFFICERS:-$(awk -v r="${rate_healthz:-0}" -v d="$DURATION" 'BEGIN {n = int(r * 0.6 * d / 110) + 1; print (n > 3000 ? n : 3000)}')}
"$BIN" admin grant 01900000000 police --count $((5 * OFFICERS)) >/dev/null
"$BIN" bench verify --url "$URL" --passes 2000 --officers "$OFFICERS" --police-phone 01900000000 \
  --wrk-script "$DATA/verify.lua" --quiet
# The same with the checkpoint's position on each check (SPEC §8), its own officers.
"$BIN" bench verify --url "$URL" --passes 2000 --officers "$OFFICERS" --police-phone "0$((1900000000 + 2 * OFFICERS))" \
  --wrk-script "$DATA/verify-position.lua" --position --quiet
# The plain check again with its own officers, for wrk to send as a browser would (the
# officers' /verify page asks for compressed answers).
"$BIN" bench verify --url "$URL" --passes 2000 --officers "$OFFICERS" --police-phone "0$((1900000000 + 4 * OFFICERS))" \
  --wrk-script "$DATA/verify-browser.lua" --quiet
drain
echo "== wrk GET /healthz, $VERIFY_CONNECTIONS connections"
wrk_rate healthz_verify -c"$VERIFY_CONNECTIONS" "$URL/healthz"
echo "== wrk POST /api/v1/verify, $VERIFY_CONNECTIONS connections"
wrk_rate verify -c"$VERIFY_CONNECTIONS" -s "$DATA/verify.lua" "$URL/api/v1/verify"
echo "== wrk POST /api/v1/verify with a browser's Accept-Encoding, $VERIFY_CONNECTIONS connections"
wrk_rate browser -c"$VERIFY_CONNECTIONS" -s "$DATA/verify-browser.lua" -H 'accept-encoding: gzip, deflate, br, zstd' "$URL/api/v1/verify"
echo "== mpass bench verify (closed loop, $VERIFY_CONNECTIONS, its ceiling first)"
"$BIN" bench verify --url "$URL" --concurrency "$VERIFY_CONNECTIONS" --passes 2000 --officers "$OFFICERS" \
  --police-phone "0$((1900000000 + OFFICERS))" --duration "$DURATION" --quiet | grep -E "^(ceiling|verify|  ratio)"
echo "== wrk POST /api/v1/verify with the checkpoint's position, $VERIFY_CONNECTIONS connections"
wrk_rate position -c"$VERIFY_CONNECTIONS" -s "$DATA/verify-position.lua" "$URL/api/v1/verify"
echo "== mpass bench verify --position (closed loop, $VERIFY_CONNECTIONS, its ceiling first)"
"$BIN" bench verify --url "$URL" --concurrency "$VERIFY_CONNECTIONS" --passes 2000 --officers "$OFFICERS" \
  --police-phone "0$((1900000000 + 3 * OFFICERS))" --duration "$DURATION" --position --quiet | grep -E "^(ceiling|verify|  ratio)"

# The ratios by wrk, to the /healthz ceiling at CONNECTIONS (as scripts/bench.sh's first
# scenario) and at VERIFY_CONNECTIONS (as the checks); `mpass bench` printed its own above.
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2fx", a / b}' || echo "n/a"; }
echo "== ratios by wrk (n/a: a run with answers other than 2xx)"
for check in verify browser position; do
  rate_var=rate_$check
  printf '%-10s %9s/s  %s the ceiling at %s connections, %s at %s\n' "$check" "${!rate_var:-n/a}" \
    "$(ratio "${!rate_var}" "$rate_healthz")" "$CONNECTIONS" "$(ratio "${!rate_var}" "$rate_healthz_verify")" "$VERIFY_CONNECTIONS"
done
# Submissions have an absolute target (SPEC §16: at least 5,000 durable submissions a second).
printf '%-10s %9s/s  (target: at least 5,000/s, every one committed before its 202)\n' submit "${rate_submit:-n/a}"
