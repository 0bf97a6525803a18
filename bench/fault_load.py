#!/usr/bin/env python3
"""Load for the fault scripts (bench/pg_restart.sh, bench/redis_fault.sh): keep-alive clients for SECONDS,
each of one kind; every request's start, duration and status goes to OUT as `start_s duration_ms status
kind`.
  read    GET /api/v1/members?limit=50
  write   POST /api/v1/roles (a unique name), then DELETE it: a steady write load whose cost does not
          grow with time (the role table stays small)
  denied  PATCH /api/v1/org/settings with a token whose role may not: every answer must be 403
Usage: fault_load.py PORT HOST_HEADER SECONDS OUT KIND:TOKEN:COUNT..."""
import http.client
import json
import sys
import threading
import time

port, host, seconds, out = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
clients = []
for spec in sys.argv[5:]:
    kind, token, count = spec.split(":")
    clients += [(kind, token)] * int(count)
start = time.monotonic()
lines = []
lock = threading.Lock()


def client(n, kind, token):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    auth = {"Host": host, "Authorization": f"Bearer {token}"}

    def send(label, method, path, body=None):
        nonlocal conn
        t0 = time.monotonic()
        payload = None
        try:
            headers = dict(auth)
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = conn.getresponse()
            payload = response.read()
            status = response.status
        except Exception:  # the connection to the server itself broke
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        with lock:
            lines.append(f"{t0 - start:.3f} {(time.monotonic() - t0) * 1000:.1f} {status} {label}")
        return status, payload

    i = 0
    while time.monotonic() - start < seconds:
        i += 1
        if kind == "read":
            send("read", "GET", "/api/v1/members?limit=50")
        elif kind == "denied":
            send("denied", "PATCH", "/api/v1/org/settings", {"display_name": f"taken over {n} {i}"})
        elif kind == "write":
            status, payload = send("write", "POST", "/api/v1/roles",
                                   {"name": f"fault_{n}_{i}", "permissions": ["members:read"]})
            if status == 201:
                role = json.loads(payload)["id"]
                # Deleted at once, retried through faults, so the table stays small.
                for _ in range(20):
                    status, _ = send("delete", "DELETE", f"/api/v1/roles/{role}")
                    if status in (204, 404):
                        break
                    time.sleep(0.1)
        else:
            raise SystemExit(f"unknown kind {kind}")


workers = [threading.Thread(target=client, args=(n, kind, token)) for n, (kind, token) in enumerate(clients)]
for w in workers:
    w.start()
for w in workers:
    w.join()
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
