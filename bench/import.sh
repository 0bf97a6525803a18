#!/usr/bin/env bash
# End-to-end CSV import (upload -> validate -> commit -> completed, audit events included) against two
# references measured in the same run: PostgreSQL COPY of the same rows into a plain table of the same
# shape, and the floor of the schema itself (the same rows COPY'd and moved with INSERT ... SELECT into
# users, memberships and audit_events, with their indexes and keys, nothing validated). Also the server's
# peak RSS (VmHWM) for each size, the server restarted fresh for each.
# Usage: bench/import.sh [rows ...]   (default: 10000 100000)
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(10000 100000); fi
PORT=18081 DB=trellis_bench_import
export APP_IMPORTS__MAX_UPLOAD_BYTES=$((1024 * 1024 * 1024))
. bench/lib.sh

echo "| rows | import (s) | rows/s | COPY (s) | ratio | floor (s) | ratio | server peak RSS (MB): after start / after import |"
echo "|---|---|---|---|---|---|---|---|"
for N in "${SIZES[@]}"; do
  python3 bench/gen_people.py "$N" > "$WORK/people.csv"
  start_server
  psql "$DB_URL" -qc "UPDATE tenants SET seat_limit = 100000000" >/dev/null
  idle=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SERVER/status")
  sign_in

  start=$(now)
  ID=$(curl -fs -H "$H" -H "$AUTH" -F "file=@$WORK/people.csv" "localhost:$PORT/api/v1/imports" | json 'd["import"]["id"]')
  curl -fs -o /dev/null -H "$H" -H "$AUTH" -H 'content-type: application/json' -d '{"mode":"upsert"}' \
    "localhost:$PORT/api/v1/imports/$ID/validate"
  validated=$(now)
  curl -fs -o /dev/null -H "$H" -H "$AUTH" -H 'content-type: application/json' -d '{"mode":"upsert"}' \
    "localhost:$PORT/api/v1/imports/$ID/commit"
  committed=$(now)
  while :; do
    STATE=$(curl -fs -H "$H" -H "$AUTH" "localhost:$PORT/api/v1/imports/$ID" | json 'd["state"]')
    case "$STATE" in completed) break ;; failed|cancelled) echo "import $STATE" >&2; exit 1 ;; esac
    sleep 0.05
  done
  took=$(python3 -c "print($(now) - $start)")
  phases=$(python3 -c "print(f'upload+validate {$validated - $start:.2f} s, commit {$committed - $validated:.2f} s, job {$start + $took - $committed:.2f} s')")
  echo "$N rows: $phases" >&2
  rss=$(awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SERVER/status")
  created=$(psql "$DB_URL" -qAtc "SELECT count(*) FROM audit_events WHERE action = 'member.provisioned' AND metadata->>'source' = 'import'")
  [ "$created" = "$N" ] || { echo "expected $N import audit events, found $created" >&2; exit 1; }

  # The floor: the same rows into the same tables (users, memberships, one audit event each, with their
  # indexes, keys and checks), COPY into a temporary table then INSERT ... SELECT, nothing validated.
  floor_start=$(now)
  psql "$DB_URL" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
BEGIN;
CREATE TEMP TABLE people_in (email text, first_name text, last_name text, title text, department text,
  location text, manager_email text, employee_id text, role text, start_date date);
\\copy people_in FROM '$WORK/people.csv' WITH (FORMAT csv, HEADER true)
WITH t AS (SELECT id FROM tenants WHERE slug = 'acme'),
ins AS (
  INSERT INTO users (tenant_id, id, email, display_name, status, given_name, family_name, title, department,
    location, employee_id, start_date, created_at, updated_at)
  SELECT t.id, gen_random_uuid(), 'floor.' || p.email, p.first_name || ' ' || p.last_name, 'active',
    p.first_name, p.last_name, p.title, p.department, p.location, 'F' || p.employee_id, p.start_date, now(), now()
  FROM people_in p, t RETURNING tenant_id, id, email),
mem AS (
  INSERT INTO memberships (tenant_id, id, user_id, role, created_at, updated_at)
  SELECT tenant_id, gen_random_uuid(), id, 'member', now(), now() FROM ins)
INSERT INTO audit_events (tenant_id, occurred_at, id, actor_type, actor_display, action, target_type, target_id,
  target_display, metadata)
SELECT tenant_id, now(), gen_random_uuid(), 'system', 'bench', 'member.provisioned', 'user', id::text, email,
  '{"source": "floor"}' FROM ins;
COMMIT;
SQL
  floor_took=$(python3 -c "print($(now) - $floor_start)")

  psql "$DB_URL" -qc "CREATE TABLE bench_copy (email text, first_name text, last_name text, title text,
    department text, location text, manager_email text, employee_id text, role text, start_date date)" >/dev/null
  copy_start=$(now)
  psql "$DB_URL" -qc "\\copy bench_copy FROM '$WORK/people.csv' WITH (FORMAT csv, HEADER true)" >/dev/null
  copy_took=$(python3 -c "print($(now) - $copy_start)")

  python3 -c "print(f'| $N | {$took:.2f} | {$N/$took:,.0f} | {$copy_took:.2f} | {$took/$copy_took:.1f}x | {$floor_took:.2f} | {$took/$floor_took:.1f}x | $idle / $rss |')"
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=
done
