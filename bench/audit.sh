#!/usr/bin/env bash
# The audit log at scale: 2,500,000 events across 50 organizations, one (acme) with 40% of them — the
# 1,000,000 rows the export goal names — over the last year. Measured in one run:
#  - a filtered page (actor + action prefix `member.` + 30-day range, 50 rows) through the API, p50/p95
#    over 500 sequential keep-alive requests, against the same SELECT run by pgbench as the superuser (no
#    HTTP, no transaction, no RLS) — the floor: as psql sends it (simple protocol), and prepared;
#  - an export of acme's 1,000,000 events (CSV and JSON Lines) through the API, rows/s and the server's
#    peak RSS, against `COPY (SELECT …) TO STDOUT` of the same rows by psql — the floor.
# Usage: bench/audit.sh   (ACME_EVENTS=1000 OTHER_EVENTS=10 bench/audit.sh for a quick check of the script)
cd "$(dirname "$0")/.."
PORT=18082 DB=trellis_bench_audit
. bench/lib.sh
start_server
sign_in
ACME_EVENTS=${ACME_EVENTS:-1000000} OTHER_EVENTS=${OTHER_EVENTS:-30612}
ACME=$(psql "$DB_URL" -qAtc "SELECT id FROM tenants WHERE slug = 'acme'")

# The events, written as the superuser with triggers off (a fixture: the sealer has nothing to chain, so
# it does not compete with the measurements). Actors: acme's members (up to 500), actions from the
# catalogue, a small metadata object each.
seed_start=$(now)
psql "$DB_URL" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET session_replication_role = replica;
CREATE TEMP TABLE actions AS SELECT a, row_number() OVER () - 1 AS n FROM unnest(ARRAY[
  'member.invited', 'member.role_changed', 'member.deactivated', 'member.profile_updated',
  'auth.login_succeeded', 'auth.login_failed', 'auth.token_refreshed', 'auth.logged_out',
  'session.revoked', 'org.settings_updated', 'role.updated', 'api_key.created', 'sso.login_succeeded',
  'invitation.accepted', 'import.completed', 'mfa.enabled']) a;
CREATE TEMP TABLE actors AS SELECT id, email, row_number() OVER () - 1 AS n
  FROM (SELECT id, email FROM users WHERE tenant_id = '$ACME' ORDER BY email LIMIT 500) u;
CREATE TEMP TABLE tenants_of AS
  SELECT '$ACME'::uuid AS tenant_id, $ACME_EVENTS AS events
  UNION ALL SELECT gen_random_uuid(), $OTHER_EVENTS FROM generate_series(1, 49);
INSERT INTO audit_events (tenant_id, occurred_at, id, actor_type, actor_id, actor_display, action,
  target_type, target_id, target_display, request_id, ip, user_agent, metadata)
SELECT t.tenant_id, now() - random() * interval '365 days', app.uuid_v7(), 'user', u.id, u.email, a.a, 'user', gen_random_uuid()::text,
  'someone@acme.localhost', md5(random()::text), '10.0.' || (i % 250) || '.' || (i % 200), 'Mozilla/5.0 (bench)',
  jsonb_build_object('before', jsonb_build_object('role', 'member'), 'after', jsonb_build_object('role', 'hr'))
FROM tenants_of t, generate_series(1, t.events) i, actors u, actions a
WHERE u.n = (i::bigint * 7919) % (SELECT count(*) FROM actors) AND a.n = (i::bigint * 31) % 16;
ANALYZE audit_events;
SQL
seed_took=$(python3 -c "print($(now) - $seed_start)")
total=$(psql "$DB_URL" -qAtc "SELECT count(*) FROM audit_events")
echo "seeded $total events in ${seed_took}s"

# The page: an actor, the member.* actions, the last 30 days.
FROM=$(date -u -d '30 days ago' +%Y-%m-%dT%H:%M:%SZ)
ACTOR=$(psql "$DB_URL" -qAtc "SELECT actor_id FROM audit_events WHERE tenant_id = '$ACME'
  AND actor_id IS NOT NULL AND action LIKE 'member.%' AND occurred_at >= '$FROM'
  GROUP BY actor_id ORDER BY count(*) DESC LIMIT 1")
API_PATH="/api/v1/audit-events?actor_id=$ACTOR&action=member.&from=$FROM&limit=50"
echo "page: $API_PATH"
read -r api_p50 api_p95 api_bytes < <(python3 bench/latency.py "acme.localhost:$PORT" "$PORT" "$API_PATH" "$TOKEN" 500)
rows=$(curl -fs -H "$H" -H "authorization: Bearer $TOKEN" "localhost:$PORT$API_PATH" | json 'len(d["items"])')
cat > "$WORK/page.sql" <<SQL
SELECT e.tenant_id, e.occurred_at, e.id, e.actor_type, e.actor_id, e.actor_display, e.action, e.target_type,
  e.target_id, e.target_display, e.request_id, e.ip, e.user_agent, e.metadata
FROM audit_events e
WHERE e.tenant_id = '$ACME' AND e.occurred_at >= '$FROM' AND e.actor_id = '$ACTOR' AND e.action LIKE 'member.%'
ORDER BY e.occurred_at DESC, e.id DESC LIMIT 51;
SQL
# Two floors: the query as psql sends it (simple protocol, planned each time: the goal's reference) and
# prepared (planned once), both on one idle connection, as the superuser: no HTTP, no transaction, no RLS.
floor() {
  rm -f "$WORK"/pgbench_log.*
  (cd "$WORK" && pgbench -n -M "$1" -f page.sql -t 520 -c 1 -l "$DB_URL" >/dev/null 2>&1)
  cat "$WORK"/pgbench_log.* | python3 -c "
import sys
t = sorted(int(l.split()[2]) / 1000 for l in list(sys.stdin)[20:])
print(f'{t[len(t)//2]:.2f} {t[int(len(t)*0.95)]:.2f}')"
}
read -r sql_p50 sql_p95 < <(floor simple)
read -r prep_p50 prep_p95 < <(floor prepared)

echo
echo "| filtered page (actor + member.* + 30 days, $rows rows) | p50 (ms) | p95 (ms) |"
echo "|---|---|---|"
echo "| API (HTTP, token, RLS transaction) | $api_p50 | $api_p95 |"
echo "| SQL floor as psql sends it (pgbench -M simple) | $sql_p50 | $sql_p95 |"
python3 -c "print(f'| ratio API / psql floor | {$api_p50/$sql_p50:.1f}x | {$api_p95/$sql_p95:.1f}x |')"
echo "| SQL prepared (pgbench -M prepared) | $prep_p50 | $prep_p95 |"
python3 -c "print(f'| ratio API / prepared | {$api_p50/$prep_p50:.1f}x | {$api_p95/$prep_p95:.1f}x |')"

# The export: acme's 1,000,000 events, the server's peak RSS sampled while it streams.
idle=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$SERVER/status")
echo
echo "| export of acme's $ACME_EVENTS events | seconds | rows/s | ratio to COPY | server RSS before / peak (MB) |"
echo "|---|---|---|---|---|"
copy_start=$(now)
psql "$DB_URL" -qc "COPY (SELECT e.* FROM audit_events e WHERE e.tenant_id = '$ACME' ORDER BY e.occurred_at DESC, e.id DESC) TO STDOUT WITH (FORMAT csv)" > /dev/null
copy_took=$(python3 -c "print($(now) - $copy_start)")
for format in csv jsonl; do
  peak_file="$WORK/peak.$format"
  echo "$idle" > "$peak_file"
  ( while kill -0 "$SERVER" 2>/dev/null; do
      rss=$(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$SERVER/status")
      [ "$rss" -gt "$(cat "$peak_file")" ] && echo "$rss" > "$peak_file"
      sleep 0.05
    done ) &
  SAMPLER=$!
  start=$(now)
  exported=$(curl -fsS -H "$H" -H "authorization: Bearer $TOKEN" \
    "localhost:$PORT/api/v1/audit-events/export?format=$format" | wc -l)
  took=$(python3 -c "print($(now) - $start)")
  kill "$SAMPLER" 2>/dev/null || true; wait "$SAMPLER" 2>/dev/null || true
  lines=$exported
  [ "$format" = csv ] && lines=$((exported - 1))
  python3 -c "print(f'| API, $format ($lines events) | {$took:.2f} | {$lines/$took:,.0f} | {$took/$copy_took:.1f}x | $idle / $(cat "$peak_file") |')"
done
python3 -c "print(f'| floor: COPY … TO STDOUT (psql) | {$copy_took:.2f} | {$ACME_EVENTS/$copy_took:,.0f} | 1.0x | |')"
