# Shared by the benchmarks: a release build, a throwaway database, a server of our own on a fixed port,
# the acme owner's sign-in, and cleanup on exit. Source it after setting PORT and DB:
#   PORT=18081 DB=trellis_bench_x; . bench/lib.sh; start_server; sign_in
# Afterwards: $BIN, $WORK, $ADMIN, $DB_URL, $SERVER (pid), $H (Host header), $TOKEN, $AUTH.
set -euo pipefail
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trellis/target}"
export APP_ENVIRONMENT=local APP_DATABASE__NAME=$DB APP_SERVER__PORT=$PORT RUST_LOG=warn
export APP_REDIS__KEY_PREFIX=$DB APP_SERVER__VAR_DIR="$(mktemp -d)"
ADMIN="${APP_DATABASE__ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB_URL="${ADMIN%/*}/$DB"
WORK=$(mktemp -d)
SERVER=
H="Host: acme.localhost:$PORT"
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
  psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --quiet --bin trellis
BIN="$CARGO_TARGET_DIR/release/trellis"
now() { date +%s.%N; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# A fresh database and a server on it (stopping the previous one), ready when /healthz answers.
# `start_server keep` keeps the database (a restart with other settings).
start_server() {
  if [ -n "$SERVER" ]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    # Gone for sure (wait knows only this shell's children): the port answers no more.
    for _ in $(seq 1 100); do curl -fs "localhost:$PORT/healthz" >/dev/null 2>&1 || break; sleep 0.1; done
  fi
  if curl -fs "localhost:$PORT/healthz" >/dev/null 2>&1; then
    echo "something already answers on port $PORT (a server left from an earlier run?)" >&2
    exit 1
  fi
  [ "${1:-}" = keep ] || psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  "$BIN" serve > "$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 150); do curl -fs "localhost:$PORT/healthz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1
}

# Signs in as acme's owner (the password the local bootstrap printed when it made the database): sets
# TOKEN and AUTH.
sign_in() {
  [ -n "${OWNER_PASSWORD:-}" ] || OWNER_PASSWORD=$(sed -n 's/.*owner@acme.localhost  password: //p' "$WORK/server.log")
  local password=$OWNER_PASSWORD
  TOKEN=$(curl -fs -H "$H" "localhost:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"owner@acme.localhost\",\"password\":\"$password\"}" | json 'd["access_token"]')
  AUTH="authorization: Bearer $TOKEN"
}
