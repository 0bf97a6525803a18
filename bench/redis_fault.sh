#!/usr/bin/env bash
# Redis faults under load against a release server with a Redis of its own (port 16399; the machine's
# Redis is left alone): 16 clients reading a members page and 2 clients whose role may not change the
# organization's settings trying to, for 45 s, with
#  - from 10 s to 20 s, Redis frozen (SIGSTOP; its connections stay open and nothing answers);
#  - at 27 s, Redis stopped (`SHUTDOWN NOSAVE`), and a new, empty one started on the same port at 35 s.
# /readyz is read every 100 ms throughout. Reports, per phase: the reads' success rate and p50/p99
# against the phase before the faults; the denied requests that were not refused (must be 0); when
# /readyz showed Redis down and when it showed everything live again.
# Usage: bench/redis_fault.sh
cd "$(dirname "$0")/.."
PORT=18086 DB=trellis_bench_redis REDIS_PORT=16399
export APP_REDIS__URL="redis://127.0.0.1:$REDIS_PORT"
. bench/lib.sh
redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
trap 'kill -CONT $(cat "$WORK/redis.pid" 2>/dev/null) 2>/dev/null; redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1; cleanup' EXIT
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
start_server
sign_in
"$BIN" tenant update --slug acme --api-rate-limit 1000000 >/dev/null
# A member whose role may read members but not change settings.
curl -fs -H "$H" -H "$AUTH" -H 'content-type: application/json' "localhost:$PORT/api/v1/roles" \
  -d '{"name":"reader","permissions":["members:read"]}' >/dev/null
invited=$(curl -fs -H "$H" -H "$AUTH" -H 'content-type: application/json' "localhost:$PORT/api/v1/invitations" \
  -d '{"email":"reader@acme.localhost","role":"reader","display_name":"Reader"}')
invitation=$(echo "$invited" | json 'd["accept_url"].split("#token=")[1]')
READER=$(curl -fs -H "$H" -H 'content-type: application/json' "localhost:$PORT/api/v1/invitations/accept" \
  -d "{\"token\":\"$invitation\",\"password\":\"a long reader password 1\"}" | json 'd["access_token"]')

python3 bench/fault_load.py "$PORT" "acme.localhost:$PORT" 45 "$WORK/requests" \
  "read:$TOKEN:16" "denied:$READER:2" &
LOAD=$!
python3 - "$PORT" 45 "$WORK/ready" <<'PY' &
import json, sys, time, urllib.request
port, seconds, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
start, lines = time.monotonic(), []
while time.monotonic() - start < seconds:
    t = time.monotonic() - start
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            d = json.load(r)
    except Exception as e:
        d = {"redis": "?", "invalidation": "?"}
    lines.append(f"{t:.2f} {d.get('redis')} {d.get('invalidation')}")
    time.sleep(0.1)
open(out, "w").write("\n".join(lines) + "\n")
PY
READY=$!
sleep 10; kill -STOP "$(cat "$WORK/redis.pid")"; echo "Redis frozen at 10 s" >&2
sleep 10; kill -CONT "$(cat "$WORK/redis.pid")"; echo "Redis thawed at 20 s" >&2
sleep 7; redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; echo "Redis stopped at 27 s" >&2
sleep 8
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log"
echo "a new Redis started at 35 s" >&2
wait $LOAD $READY
kill -0 "$SERVER" || { echo "the server died" >&2; exit 1; }
python3 - "$WORK/requests" "$WORK/ready" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
rows = [(float(s), float(d), int(st), k) for s, d, st, k in rows]
ready = [line.split() for line in open(sys.argv[2]) if line.strip()]
ready = [(float(t), r, i) for t, r, i in ready]
def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")
phases = [("before (2-10 s)", 2, 10), ("frozen (10-20 s)", 10, 20), ("after thaw (20-27 s)", 20, 27),
          ("stopped (27-35 s)", 27, 35), ("new Redis (35-45 s)", 35, 45)]
normal = None
print("phase                  reads   success   p50 ms   p99 ms   p99/before")
for name, a, b in phases:
    reads = [(d, st) for s, d, st, k in rows if k == "read" and a <= s < b]
    ok = sum(1 for _, st in reads if st == 200)
    p50, p99 = pct([d for d, _ in reads], 0.5), pct([d for d, _ in reads], 0.99)
    normal = normal or p99
    print(f"{name:22} {len(reads):6} {100 * ok / max(1, len(reads)):8.2f}% {p50:8.1f} {p99:8.1f} {p99 / normal:8.2f}")
denied = [st for s, d, st, k in rows if k == "denied"]
print(f"denied requests: {len(denied)}; answered other than 403: {sum(1 for st in denied if st != 403)}")
def first(after, cond):
    return next((t for t, r, i in ready if t >= after and cond(r, i)), None)
down = first(10, lambda r, i: r == "down")
live = first(20, lambda r, i: r == "up" and i == "live")
down2 = first(27, lambda r, i: r == "down")
live2 = first(35, lambda r, i: r == "up" and i == "live")
print(f"/readyz: Redis down at {down} s (frozen at 10), everything live at {live} s (thawed at 20); "
      f"down at {down2} s (stopped at 27), live at {live2} s (new Redis at 35)")
PY
