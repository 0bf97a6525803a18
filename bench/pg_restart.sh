#!/usr/bin/env bash
# PostgreSQL faults under a steady load against a release server: 12 clients reading a members page and 4
# creating and deleting roles (a write load whose cost does not grow) for 40 s, with
#  - at 10 s a restart (`pg_ctlcluster <version> main restart -m fast`);
#  - from 24 s, `pg_terminate_backend` on one random connection of the server, 16 times, 250 ms apart
#    (each psql call takes time too: the script prints when the last one was).
# Reports, from every request's record (bench/fault_load.py):
#  - throughput per second, and when it is back to 90% of its level before the restart (without
#    restarting Trellis);
#  - the failed answers: only 503s, and the slowest of them (database.acquire_timeout_ms bounds it);
#  - the audit reconciliation: roles created minus roles deleted equals the roles left, each by its
#    events (no change without its event, no event without its change).
# Restarts the machine's PostgreSQL: run it alone, as root, where nothing else uses the server.
# Usage: bench/pg_restart.sh            (RESTART=0: the same load without the faults, the control)
cd "$(dirname "$0")/.."
PORT=18085 DB=trellis_bench_restart
. bench/lib.sh
VERSION=$(ls /etc/postgresql | sort -n | tail -1)
start_server
sign_in
"$BIN" tenant update --slug acme --api-rate-limit 1000000 >/dev/null
load_start=$(now)
python3 bench/fault_load.py "$PORT" "acme.localhost:$PORT" 40 "$WORK/requests" \
  "read:$TOKEN:12" "write:$TOKEN:4" &
LOAD=$!
sleep 10
if [ "${RESTART:-1}" = 1 ]; then
  restart_at=$(now)
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main restart -m fast
  echo "PostgreSQL restarted in $(python3 -c "print(round($(now) - $restart_at, 2))") s" >&2
  sleep 14
  kills_from=$(python3 -c "print(round($(now) - $load_start, 1))")
  killed=0
  for _ in $(seq 1 16); do
    n=$(psql "$ADMIN" -qAtc "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM
      (SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND application_name = 'trellis'
       ORDER BY random() LIMIT 1) s")
    killed=$((killed + n))
    sleep 0.25
  done
  echo "terminated $killed server connections between $kills_from s and $(python3 -c "print(round($(now) - $load_start, 1))") s" >&2
fi
wait $LOAD
kill -0 "$SERVER" || { echo "the server died" >&2; exit 1; }
ACME=$(psql "$DB_URL" -qAtc "SELECT id FROM tenants WHERE slug = 'acme'")
read -r created distinct deleted left deleted_but_there left_without_event < <(psql "$DB_URL" -qAtF' ' -c "
  WITH c AS (SELECT target_id FROM audit_events WHERE tenant_id = '$ACME' AND action = 'role.created'),
       d AS (SELECT target_id FROM audit_events WHERE tenant_id = '$ACME' AND action = 'role.deleted'),
       r AS (SELECT id::text AS id FROM roles WHERE tenant_id = '$ACME' AND name LIKE 'fault\_%')
  SELECT (SELECT count(*) FROM c), (SELECT count(DISTINCT target_id) FROM c), (SELECT count(*) FROM d),
         (SELECT count(*) FROM r), (SELECT count(*) FROM d JOIN r ON r.id = d.target_id),
         (SELECT count(*) FROM r WHERE id NOT IN (SELECT target_id FROM c))")
python3 - "$WORK/requests" "$created" "$distinct" "$deleted" "$left" "$deleted_but_there" "$left_without_event" <<'PY'
import collections, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
rows = [(float(s), float(d), int(st), k) for s, d, st, k in rows]
created, distinct, deleted, left, deleted_but_there, left_without_event = map(int, sys.argv[2:])
per_second = collections.Counter(int(s) for s, d, st, k in rows if 200 <= st < 300)
failed = [(s, d, st, k) for s, d, st, k in rows if not 200 <= st < 300 and not (k == "delete" and st == 404)]
before = sum(per_second[t] for t in range(2, 10)) / 8
back = next((t for t in range(10, 24) if all(per_second[u] >= 0.9 * before for u in range(t, t + 3))), None)
statuses = collections.Counter(st for _, _, st, _ in failed)
print(f"requests: {len(rows)}; before the restart {before:.0f} successful/s")
print("successful per second, 8..39 s:", [per_second[t] for t in range(8, 40)])
print(f"failed answers by status: {dict(statuses)} (0 = the connection to Trellis broke)")
if failed:
    print(f"slowest failed answer: {max(d for _, d, _, _ in failed):.0f} ms; failures between "
          f"{min(s for s, *_ in failed):.2f} s and {max(s for s, *_ in failed):.2f} s")
print("failed answers (second, kind):", sorted(collections.Counter((int(s), k) for s, _, _, k in failed).items()))
print(f"back to 90% of the level before (3 s in a row) at {back} s (restart at 10 s)" if back else "not back to 90% by 24 s")
answered = sum(1 for s, d, st, k in rows if k == "write" and st == 201)
print(f"roles: {answered} answered 201; role.created events {created} ({distinct} distinct roles), "
      f"role.deleted events {deleted}, left in the table {left}")
print(f"created - deleted - left = {created - deleted - left}; deleted yet still there {deleted_but_there}; "
      f"there without a created event {left_without_event} (all three must be 0)")
PY
echo "the server's reasons for its 503s:"
grep -o 'database unavailable.*' "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g' | grep -o 'error[^,]*' | sort | uniq -c | sort -rn | head -5 || true

