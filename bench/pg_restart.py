#!/usr/bin/env python3
"""Load for bench/pg_restart.sh: THREADS keep-alive clients for SECONDS, a quarter of them creating roles
(POST, a unique name each), the rest reading the members list; every request's start, duration and
status goes to OUT as `start_s duration_ms status kind`.
Usage: pg_restart.py PORT HOST_HEADER TOKEN SECONDS THREADS OUT"""
import http.client
import json
import sys
import threading
import time

port, host, token, seconds, threads, out = (
    int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
start = time.monotonic()
lines = []
lock = threading.Lock()


def client(n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    writer = n % 4 == 0
    i = 0
    while time.monotonic() - start < seconds:
        i += 1
        t0 = time.monotonic()
        try:
            if writer:
                body = json.dumps({"name": f"fault_{n}_{i}", "permissions": ["members:read"]})
                conn.request("POST", "/api/v1/roles", body=body, headers={
                    "Host": host, "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            else:
                conn.request("GET", "/api/v1/members?limit=50", headers={
                    "Host": host, "Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except Exception:  # the connection to the server itself broke
            status = 0
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        took = (time.monotonic() - t0) * 1000
        with lock:
            lines.append(f"{t0 - start:.3f} {took:.1f} {status} {'write' if writer else 'read'}")


workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
