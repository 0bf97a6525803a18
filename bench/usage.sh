#!/usr/bin/env bash
# What usage capture costs a read endpoint: GET /api/v1/members?limit=50 (acme, 276 members, an owner's
# token) under wrk at 16 connections, with capture on and off, alternated on the same database (on, off,
# on, off) so drift does not favour one side; each run 20 s after a 5 s warm-up. The plan's API rate
# limit is lifted for the run (both sides count it the same). Goal: capture costs at most 5%.
# Usage: bench/usage.sh   (needs wrk: apt-get install wrk)
cd "$(dirname "$0")/.."
PORT=18084 DB=trellis_bench_usage
export APP_PLANS__ENTERPRISE__API_REQUESTS_PER_MINUTE=100000000
. bench/lib.sh
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
DURATION=${DURATION:-20s}
URL="http://127.0.0.1:$PORT/api/v1/members?limit=50"

run() { # capture true|false; appends requests/s to RESULTS
  export APP_USAGE__CAPTURE=$1
  start_server keep
  enabled=$(curl -fs "localhost:$PORT/readyz" | json 'str(d["usage"]["enabled"]).lower()')
  [ "$enabled" = "$1" ] || { echo "the server's capture is $enabled, wanted $1" >&2; exit 1; }
  sign_in
  wrk -t2 -c16 -d5s -H "$H" -H "$AUTH" "$URL" >/dev/null
  RESULTS+=("$(wrk -t2 -c16 -d"$DURATION" -H "$H" -H "$AUTH" "$URL" | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non-2xx " $4 > "/dev/stderr"}')")
}

export APP_USAGE__CAPTURE=true
start_server
OWNER_PASSWORD=$(sed -n 's/.*owner@acme.localhost  password: //p' "$WORK/server.log")
RESULTS=()
run true; run false; run true; run false
on1=${RESULTS[0]} off1=${RESULTS[1]} on2=${RESULTS[2]} off2=${RESULTS[3]}
written=$(psql "$DB_URL" -qAtc "SELECT count(*) FROM usage_events WHERE event = 'api_request'")
echo
echo "| GET /api/v1/members?limit=50, wrk -c16 | run 1 (req/s) | run 2 (req/s) | mean |"
echo "|---|---|---|---|"
python3 - "$on1" "$on2" "$off1" "$off2" "$written" <<'PY'
import sys
on1, on2, off1, off2, written = map(float, sys.argv[1:])
on, off = (on1 + on2) / 2, (off1 + off2) / 2
print(f"| capture on | {on1:,.0f} | {on2:,.0f} | {on:,.0f} |")
print(f"| capture off (reference) | {off1:,.0f} | {off2:,.0f} | {off:,.0f} |")
print(f"| ratio on / off | | | {on / off:.3f} (cost {100 * (1 - on / off):.1f}%) |")
print(f"\nAPI requests recorded (the capture-on runs, warm-ups included): {written:,.0f}")
PY
