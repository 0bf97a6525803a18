#!/usr/bin/env bash
# The console's tables at 100,000 members: acme's members page — the first page, a page in the middle of
# the list (the keyset cursor), a search and a role filter — p50/p95 over 300 sequential keep-alive
# requests with the session cookie, against, in the same run:
#  - the API's JSON list of the same page (`/api/v1/members`, the same service and query: the reference
#    for what rendering the page adds), and
#  - the page's SELECT alone by pgbench, prepared, as the superuser (no HTTP, no transaction, no RLS):
#    the floor.
# Usage: bench/console.sh   (N=2000 bench/console.sh for a quick check of the script)
cd "$(dirname "$0")/.."
PORT=18084 DB=trellis_bench_console
. bench/lib.sh
start_server
sign_in
N=${N:-100000}
ACME=$(psql "$DB_URL" -qAtc "SELECT id FROM tenants WHERE slug = 'acme'")

# The members, written as the superuser (a fixture): users and memberships, as an import makes them.
psql "$DB_URL" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
WITH ins AS (
  INSERT INTO users (tenant_id, id, email, display_name, status, department, created_at, updated_at)
  SELECT '$ACME', gen_random_uuid(), format('person%s@acme.localhost', lpad(i::text, 6, '0')),
    format('Person %s', i), 'active', (ARRAY['Engineering','Product','Sales','Support'])[1 + i % 4], now(), now()
  FROM generate_series(1, $N) i RETURNING tenant_id, id)
INSERT INTO memberships (tenant_id, id, user_id, role, created_at, updated_at)
SELECT tenant_id, gen_random_uuid(), id, CASE WHEN random() < 0.05 THEN 'manager' ELSE 'member' END, now(), now()
FROM ins;
ANALYZE users; ANALYZE memberships;
SQL
total=$(psql "$DB_URL" -qAtc "SELECT count(*) FROM users WHERE tenant_id = '$ACME'")
MIDDLE=$(psql "$DB_URL" -qAtc "SELECT email FROM users WHERE tenant_id = '$ACME' ORDER BY email OFFSET $((N / 2)) LIMIT 1")
CURSOR=$(python3 -c "import base64, json; print(base64.urlsafe_b64encode(json.dumps('$MIDDLE').encode()).decode().rstrip('='))")
echo "acme has $total members"

# The console's session cookie is the access token.
measure() {
  python3 bench/latency.py "acme.localhost:$PORT" "$PORT" "$1" "$2" 300
}
# The SELECT the list runs (the service's, for the first page), prepared, one connection.
cat > "$WORK/page.sql" <<SQL
SELECT u.id, u.email, u.display_name, u.status, u.manager_id, u.title, u.department, u.location,
  u.employee_id, m.role, u.created_at, u.last_login_at, u.deactivated_at
FROM users u LEFT JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.id
WHERE u.tenant_id = '$ACME' ORDER BY u.email LIMIT 51;
SQL
(cd "$WORK" && pgbench -n -M prepared -f page.sql -t 320 -c 1 -l "$DB_URL" >/dev/null 2>&1)
read -r floor_p50 floor_p95 < <(cat "$WORK"/pgbench_log.* | python3 -c "
import sys
t = sorted(int(l.split()[2]) / 1000 for l in list(sys.stdin)[20:])
print(f'{t[len(t)//2]:.2f} {t[int(len(t)*0.95)]:.2f}')")

echo
echo "| members, $total in the organization (50 a page) | console p50 / p95 (ms) | API p50 / p95 (ms) | console / API (p50) | page bytes |"
echo "|---|---|---|---|---|"
while IFS='|' read -r label console api; do
  read -r c50 c95 cbytes < <(measure "$console" "cookie:$TOKEN")
  read -r a50 a95 _ < <(measure "$api" "$TOKEN")
  python3 -c "print(f'| $label | $c50 / $c95 | $a50 / $a95 | {$c50/$a50:.2f}x | $cbytes |')"
done <<CASES
first page|/admin/members|/api/v1/members?limit=50
page in the middle (keyset)|/admin/members?after=$MIDDLE|/api/v1/members?limit=50&cursor=$CURSOR
search "person0499"|/admin/members?q=person0499|/api/v1/members?limit=50&q=person0499
role filter (manager)|/admin/members?role=manager|/api/v1/members?limit=50&role=manager
CASES
python3 -c "print(f'| floor: the first page\'s SELECT alone (pgbench -M prepared) | | $floor_p50 / $floor_p95 | | |')"
