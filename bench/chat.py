"""A chat-like mix, Surge and Node: 2,000 clients in 200 rooms, each sending a message to its room
every 2 s (issue 13, point 4b).

    python bench/chat.py [clients] [rooms] [seconds]      (default 2000 200 20)

Each server (bench/app_def.py, bench/app_async.py, bench/node_app.js: ``join`` a room, then
``to_room`` emits to it) is pinned to CPU 0; bench/chat_clients.js on CPU 1 drives the clients
(raw Socket.IO v5 WebSockets).  Reported: deliveries per second (every member of the room gets
each message, its sender too), the delivery latency p50/p99 from send to receipt, and the
server's CPU % over the window.
"""

from __future__ import annotations

import shlex
import sys

from pinned import SERVERS, run

INTERVAL = 2.0


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rooms = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
    print(f"{clients} clients in {rooms} rooms, a message each every {INTERVAL:.0f} s, {seconds:.0f} s window\n")
    print("| server | deliveries/s (expected) | latency p50 ms | p99 ms | max ms | server CPU % |")
    print("|---|---:|---:|---:|---:|---:|")
    opts = {"n": clients, "rooms": rooms, "interval": INTERVAL, "seconds": seconds}
    for name, command in SERVERS.items():
        r = run(command, "chat_clients.js", opts, {})
        done = r["done"]
        assert done["joined"] == clients, done
        print(
            f"| {name} | {done['deliveries'] / seconds:,.0f} ({done['expected'] / seconds:,.0f}) |"
            f" {done['p50_ms']:.1f} | {done['p99_ms']:.1f} | {done['max_ms']:.1f} | {r['cpu_pct']:.1f} |"
        )
    print(f"\n(run: python bench/chat.py {clients} {rooms} {seconds:.0f}; {shlex.join(sys.argv)})")


if __name__ == "__main__":
    main()
