"""Runs the independent SCIM 2.0 compliance checker (scim2-tester, from PyPI) against a Trellis server.

    python3 tests/scim/check_server.py <base url, e.g. http://127.0.0.1:8080/scim/v2> <Host header> <token>

Prints one JSON object per check ({"status", "title", "reason", "resource_type"}) and exits non-zero
when any check ends in error. Started by tests/api/scim.rs against a fresh organization.
"""

import json
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base_url, host, token = sys.argv[1:4]
    client = httpx2.Client(
        base_url=base_url,
        headers={"Host": host, "Authorization": f"Bearer {token}"},
        timeout=30,
    )
    scim = SyncSCIMClient(client)
    results = check_server(scim)
    failed = 0
    for result in results:
        bad = result.status in (Status.ERROR, Status.CRITICAL)
        failed += bad
        print(json.dumps({
            "status": result.status.name,
            "title": result.title,
            "reason": result.reason,
            "resource_type": getattr(result, "resource_type", None),
        }))
    print(json.dumps({"checks": len(results), "failed": failed}))
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
