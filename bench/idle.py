"""Many idle clients with a heartbeat every second: the server's CPU and memory at idle, Surge and Node.

    python bench/idle.py [clients] [seconds]      (default 10000 clients, 20 s)

Each server runs with a 1 s ping interval (bench/app_def.py, bench/app_async.py and
bench/node_app.js with PING_INTERVAL=1), pinned to CPU 0; bench/idle_clients.js, on CPU 1,
opens the clients (raw Engine.IO WebSockets answering every ping), then they sit idle.
Reported: the server's CPU % over the idle window (from /proc), its RSS per client, and
the pings answered (clients times seconds if every heartbeat went out on time).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(command: list[str], clients: int, seconds: float) -> dict[str, float]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PORT=str(port), PING_INTERVAL="1", PYTHONPATH=str(ROOT / "src"))
    env.setdefault("SOCKET_IO", str(ROOT / "node_modules" / "socket.io"))  # Node's, as package.json pins it
    server = subprocess.Popen(["taskset", "-c", "0", *command], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        rss0 = rss_kib(server.pid)
        opts = json.dumps({"port": port, "n": clients, "seconds": seconds})
        load = subprocess.Popen(
            ["taskset", "-c", "1", "node", str(ROOT / "bench" / "idle_clients.js"), opts],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert load.stdout is not None
        opened = json.loads(load.stdout.readline())
        time.sleep(2)  # the connects' own work is over
        cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
        done = json.loads(load.stdout.readline())
        cpu = (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - wall0) * 100
        rss = rss_kib(server.pid)
        load.wait(30)
    finally:
        server.terminate()
        server.wait(20)
    return {
        "open": opened["open"],
        "still_open": done["open"] - done["closed"],
        "cpu_pct": cpu,
        "kib_per_client": (rss - rss0) / max(1, opened["open"]),
        "pings_per_s": done["pings"] / seconds,
    }


def main() -> None:
    clients = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    servers = {
        "node-socketio": ["node", str(ROOT / "bench" / "node_app.js")],
        "surge-def": [sys.executable, str(ROOT / "bench" / "app_def.py")],
        "surge-async": [sys.executable, str(ROOT / "bench" / "app_async.py")],
    }
    print(f"{clients} idle clients, heartbeat every 1 s, {seconds:.0f} s idle window")
    print("| server | connected (still, at the end) | server CPU % | RSS KiB/client | pings answered/s |")
    print("|---|---:|---:|---:|---:|")
    for name, command in servers.items():
        r = measure(command, clients, seconds)
        print(
            f"| {name} | {r['open']:,.0f} ({r['still_open']:,.0f}) | {r['cpu_pct']:.1f} |"
            f" {r['kib_per_client']:.1f} | {r['pings_per_s']:,.0f} |"
        )
    print(f"\n(run: python bench/idle.py {clients} {seconds:.0f}; {shlex.join(sys.argv)})")


if __name__ == "__main__":
    main()
