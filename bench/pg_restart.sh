#!/usr/bin/env bash
# PostgreSQL restarted under constant load (`pg_ctlcluster <version> main restart -m fast`): 16 clients
# (a quarter creating roles, the rest reading a members page) for 40 s against a release server; the
# restart at 10 s. Reports, from every request's record (bench/pg_restart.py):
#  - throughput per second, before, during and after the outage;
#  - the answers during the outage: only 503s, and the slowest of them (the pool's acquire timeout,
#    database.acquire_timeout_ms, bounds it);
#  - when throughput is back to 90% of the level before the fault, without restarting Trellis;
#  - roles created against `role.created` events (difference 0: no change without its event).
# Restarts the machine's PostgreSQL: run it alone, as root, where nothing else uses the server.
# Usage: bench/pg_restart.sh            (RESTART=0: the same load without the fault, the control)
cd "$(dirname "$0")/.."
PORT=18085 DB=trellis_bench_restart
. bench/lib.sh
VERSION=$(ls /etc/postgresql | sort -n | tail -1)
start_server
sign_in
"$BIN" tenant update --slug acme --api-rate-limit 1000000 >/dev/null
python3 bench/pg_restart.py "$PORT" "acme.localhost:$PORT" "$TOKEN" 40 16 "$WORK/requests" &
LOAD=$!
sleep 10
if [ "${RESTART:-1}" = 1 ]; then
  restart_at=$(now)
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main restart -m fast
  echo "PostgreSQL restarted in $(python3 -c "print(round($(now) - $restart_at, 2))") s" >&2
fi
wait $LOAD
kill -0 "$SERVER" || { echo "the server died" >&2; exit 1; }
ACME=$(psql "$DB_URL" -qAtc "SELECT id FROM tenants WHERE slug = 'acme'")
read -r roles events < <(psql "$DB_URL" -qAtF' ' -c "SELECT
  (SELECT count(*) FROM roles WHERE tenant_id = '$ACME' AND name LIKE 'fault\_%'),
  (SELECT count(*) FROM audit_events WHERE tenant_id = '$ACME' AND action = 'role.created')")
python3 - "$WORK/requests" "$roles" "$events" <<'PY'
import collections, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
rows = [(float(s), float(d), int(st), k) for s, d, st, k in rows]
per_second = collections.Counter(int(s) for s, d, st, k in rows if 200 <= st < 300)
failed = [(s, d, st) for s, d, st, k in rows if not 200 <= st < 300]
before = sum(per_second[t] for t in range(2, 10)) / 8
outage = [t for t in range(10, 40) if per_second[t] < 0.9 * before]
back = next((t for t in range(10, 40) if per_second[t] >= 0.9 * before and all(per_second[u] >= 0.9 * before for u in range(t, min(t + 3, 40)))), None)
statuses = collections.Counter(st for _, _, st in failed)
print(f"requests: {len(rows)}; before the fault {before:.0f} successful/s")
print("successful per second, 8..20 s:", [per_second[t] for t in range(8, 21)])
print(f"failed answers by status: {dict(statuses)} (0 = the connection to Trellis broke)")
if failed:
    print(f"slowest failed answer: {max(d for _, d, _ in failed):.0f} ms; failures from {min(s for s, _, _ in failed):.2f} s to {max(s for s, _, _ in failed):.2f} s")
print(f"back to 90% of the level before at {back} s (restart at 10 s)" if back else "never back to 90%")
writes_ok = sum(1 for s, d, st, k in rows if k == 'write' and st == 201)
print(f"roles created: {writes_ok} answered 201; {sys.argv[2]} in the table; {sys.argv[3]} role.created events; difference {int(sys.argv[2]) - int(sys.argv[3])}")
PY
