"""Many idle clients with a heartbeat every second: the server's CPU and memory at idle, Surge and Node.

    python bench/idle.py [clients] [seconds]      (default 10000 clients, 20 s)

Each server runs with a 1 s ping interval (bench/app_def.py, bench/app_async.py and
bench/node_app.js with PING_INTERVAL=1), pinned to CPU 0; bench/idle_clients.js, on CPU 1,
opens the clients (raw Engine.IO WebSockets answering every ping), then they sit idle.
Reported: the server's CPU % over the idle window (from /proc), its RSS per client, and
the pings answered (clients times seconds if every heartbeat went out on time).
"""

from __future__ import annotations

import shlex
import sys

from pinned import SERVERS, run


def measure(command: list[str], clients: int, seconds: float) -> dict[str, float]:
    r = run(command, "idle_clients.js", {"n": clients, "seconds": seconds}, {"PING_INTERVAL": "1"})
    opened, done = r["ready"], r["done"]
    return {
        "open": opened["open"],
        "still_open": done["open"] - done["closed"],
        "cpu_pct": r["cpu_pct"],
        "kib_per_client": (r["rss_kib"] - r["rss0_kib"]) / max(1, opened["open"]),
        "pings_per_s": done["pings"] / seconds,
    }


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    print(f"{clients} idle clients, heartbeat every 1 s, {seconds:.0f} s idle window\n")
    print("| server | connected (still, at the end) | server CPU % | RSS KiB/client | pings answered/s |")
    print("|---|---:|---:|---:|---:|")
    for name, command in SERVERS.items():
        r = measure(command, clients, seconds)
        print(
            f"| {name} | {r['open']:,.0f} ({r['still_open']:,.0f}) | {r['cpu_pct']:.1f} |"
            f" {r['kib_per_client']:.1f} | {r['pings_per_s']:,.0f} |"
        )
    print(f"\n(run: python bench/idle.py {clients} {seconds:.0f}; {shlex.join(sys.argv)})")


if __name__ == "__main__":
    main()
