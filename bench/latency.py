#!/usr/bin/env python3
"""Sequential GETs over one keep-alive connection; prints p50 and p95 in milliseconds.
Usage: latency.py HOST_HEADER PORT PATH TOKEN COUNT"""
import http.client
import sys
import time

host, port, path, token, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"Host": host, "Authorization": f"Bearer {token}"}
times = []
for i in range(count + 20):
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    took = (time.perf_counter() - start) * 1000
    if response.status != 200:
        sys.exit(f"{response.status}: {body[:300]!r}")
    if i >= 20:  # warm-up left out
        times.append(took)
times.sort()
print(f"{times[len(times) // 2]:.2f} {times[int(len(times) * 0.95)]:.2f} {len(body)}")
