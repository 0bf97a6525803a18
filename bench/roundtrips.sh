#!/usr/bin/env bash
# Counts the PostgreSQL round trips each kind of request costs, by capturing the server's traffic to
# PostgreSQL on loopback with tshark and classifying what the client sends in each flight:
#   - a Simple Query message: the opening BEGIN + SET LOCAL (+ session check) message, or COMMIT;
#   - Bind/Execute/Sync: one prepared statement (Parse too the first time a connection sees it);
#   - a lone Sync: sqlx's ping when a connection returns to the pool (after the response, off the path).
# Usage: bench/roundtrips.sh [requests per kind, default 50]. Needs tshark (Debian package) and root.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-50}"
PORT=18080
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trellis/target}"
export APP_ENVIRONMENT=local APP_DATABASE__NAME=trellis_bench_roundtrips APP_SERVER__PORT=$PORT
export APP_REDIS__KEY_PREFIX=trellis_bench_rt APP_SERVER__VAR_DIR="$(mktemp -d)" RUST_LOG=warn
# No in-process job worker: its polling would be counted with the requests.
export APP_JOBS__IN_PROCESS=false
ADMIN="${APP_DATABASE__ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
command -v tshark >/dev/null || { echo "install tshark: apt-get install tshark" >&2; exit 1; }

cargo build --release --quiet --bin trellis
BIN="$CARGO_TARGET_DIR/release/trellis"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS trellis_bench_roundtrips WITH (FORCE)" >/dev/null
"$BIN" serve > /tmp/trellis-roundtrips.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; psql "$ADMIN" -qc "DROP DATABASE IF EXISTS trellis_bench_roundtrips WITH (FORCE)" >/dev/null 2>&1' EXIT
for _ in $(seq 1 100); do curl -fs "localhost:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
PASSWORD=$(sed -n 's/.*owner@acme.localhost  password: //p' /tmp/trellis-roundtrips.log)
H="Host: acme.localhost:$PORT"
TOKEN=$(curl -fs -H "$H" "localhost:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"owner@acme.localhost\",\"password\":\"$PASSWORD\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

get_member() { curl -fs -o /dev/null -H "$H" -H "authorization: Bearer $TOKEN" "localhost:$PORT/api/v1/members?limit=50"; }
get_me() { curl -fs -o /dev/null -H "$H" -H "authorization: Bearer $TOKEN" "localhost:$PORT/api/v1/me"; }
patch_settings() {
  curl -fs -o /dev/null -X PATCH -H "$H" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    "localhost:$PORT/api/v1/org/settings" -d "{\"invitation_ttl_hours\": $((RANDOM % 700 + 1))}"
}

measure() {
  local name=$1 fn=$2
  for _ in $(seq 1 20); do $fn; done   # warm every pooled connection's statement cache
  local pcap
  pcap=$(mktemp --suffix=.pcap)
  tshark -q -i lo -f "tcp dst port 5432" -w "$pcap" 2>/dev/null &
  local capture=$!
  sleep 2
  for _ in $(seq 1 "$N"); do $fn; done
  sleep 1
  kill -INT $capture; wait $capture 2>/dev/null || true
  tshark -r "$pcap" -Y pgsql -T fields -e frame.number -e pgsql.type 2>/dev/null | python3 -c '
import sys
simple = statements = pings = 0
for line in sys.stdin:
    parts = line.rstrip("\n").split("\t")
    kinds = parts[1].split(",") if len(parts) > 1 else []
    if "Simple query" in kinds: simple += 1
    elif "Bind" in kinds or "Execute" in kinds or "Parse" in kinds: statements += 1
    elif kinds == ["Sync"]: pings += 1
n = int(sys.argv[2])
print(f"| {sys.argv[1]} | {simple/n:.2f} | {statements/n:.2f} | {(simple+statements)/n:.2f} | {pings/n:.2f} |")
' "$name" "$N"
  rm -f "$pcap"
}

echo "| request | simple-query flights (open, COMMIT) | statement flights | round trips on the request path | pool-return pings (after the response) |"
echo "|---|---|---|---|---|"
measure "GET /api/v1/members?limit=50 (read)" get_member
measure "GET /api/v1/me (read)" get_me
measure "PATCH /api/v1/org/settings (write + audit)" patch_settings
