"""Flask routes through Surge's built-in server: a 5-byte page and Flask's static socket.io.min.js.

    python bench/routes.py [seconds]      (default 10)

bench/app_def.py serves both (``/page``, and ``/static/socket.io.min.js`` from the npm client's
folder) pinned to CPU 0; bench/http_clients.js on CPU 1 keeps 10 keep-alive clients asking.
Reported: requests per second and the server's CPU %.  Surge only: Node's socket.io has no
Flask routes to compare with.
"""

from __future__ import annotations

import shlex
import sys

from pinned import SERVERS, run

PATHS = {"a 5-byte page": "/page", "socket.io.min.js (46 KiB)": "/static/socket.io.min.js"}


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    print(f"10 keep-alive clients, {seconds:.0f} s window, `def` app (bench/app_def.py)\n")
    print("| route | requests/s | MiB/s | server CPU % |")
    print("|---|---:|---:|---:|")
    for name, path in PATHS.items():
        r = run(SERVERS["surge-def"], "http_clients.js", {"path": path, "clients": 10, "seconds": seconds}, {})
        done = r["done"]
        assert done["failed"] == 0, done
        print(f"| {name} | {done['requests_per_s']:,.0f} | {done['mib_per_s']:.1f} | {r['cpu_pct']:.1f} |")
    print(f"\n(run: python bench/routes.py {seconds:.0f}; {shlex.join(sys.argv)})")


if __name__ == "__main__":
    main()
