"""A server pinned to CPU 0 under a Node load script pinned to CPU 1, its CPU and RSS measured
over the load's window (bench/idle.py, bench/chat.py).

The load script gets one JSON argument (``opts`` plus ``port``) and prints two JSON lines: one
when its clients are ready (the window starts 2 s later, once the connects' own work is over),
one when the window is over.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
SERVERS = {
    "node-socketio": ["node", str(ROOT / "bench" / "node_app.js")],
    "surge-def": [sys.executable, str(ROOT / "bench" / "app_def.py")],
    "surge-async": [sys.executable, str(ROOT / "bench" / "app_async.py")],
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def run(command: list[str], load: str, opts: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """The load's two lines (``ready``, ``done``), and the server's ``cpu_pct`` over the window,
    its RSS before the load (``rss0_kib``) and at the end (``rss_kib``)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    full_env = dict(os.environ, PORT=str(port), PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT / "src")), **env)
    full_env.setdefault("SOCKET_IO", str(ROOT / "node_modules" / "socket.io"))  # Node's, as package.json pins it
    server = subprocess.Popen(["taskset", "-c", "0", *command], env=full_env, stderr=subprocess.DEVNULL)
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
        generator = subprocess.Popen(
            ["taskset", "-c", "1", "node", str(ROOT / "bench" / load), json.dumps({**opts, "port": port})],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert generator.stdout is not None
        ready = json.loads(generator.stdout.readline())
        time.sleep(2)
        cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
        done = json.loads(generator.stdout.readline())
        cpu = (cpu_seconds(server.pid) - cpu0) / (time.monotonic() - wall0) * 100
        rss = rss_kib(server.pid)
        generator.wait(30)
    finally:
        server.terminate()
        server.wait(20)
    return {"ready": ready, "done": done, "cpu_pct": cpu, "rss0_kib": rss0, "rss_kib": rss}
