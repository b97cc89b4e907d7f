"""What room emits for members elsewhere cost the processes that have none (issue 14, point 3).

Starts four processes of bench/app_async.py on one Redis channel; two clients
(python-socketio) join room "r" on the first only.  A write-only emitter then
makes 10,000 emits to "r"; the CPU time (user + system, from /proc) each
process spent meanwhile is reported: the first delivers, the other three only
receive and skip.

    python bench/routing_cpu.py [emits]      (REDIS_URL, REDIS_STREAMS=1 as for cluster_broadcast.py)
"""

from __future__ import annotations

import os
import secrets
import sys
import time

import socketio as python_socketio
from cluster_broadcast import free_port, start  # bench/ is on the path: run as a script

from surge import SocketIO

EMITS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def main() -> None:
    channel = "surge-bench-" + secrets.token_hex(4)
    ports = [free_port() for _ in range(4)]
    servers = [start(port, channel, 0) for port in ports]
    clients = []
    try:
        time.sleep(1)
        for _ in range(int(os.environ.get("MEMBERS", "2"))):
            client = python_socketio.Client()
            client.connect(f"http://127.0.0.1:{ports[0]}", transports=["websocket"])
            client.call("join", "r")
            clients.append(client)
        got = [0]
        clients[0].on("msg", lambda *args: got.__setitem__(0, got[0] + 1))
        drops: list[object] = []
        clients[0].on("disconnect", lambda *args: drops.append(args))
        emitter = SocketIO(
            message_queue=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_streams=os.environ.get("REDIS_STREAMS") == "1",
            channel=channel,
        )
        before = [cpu_seconds(proc.pid) for proc in servers]
        for n in range(EMITS):
            emitter.emit("msg", {"seq": n, "pad": "x" * 80}, to="r")
            if n % 100 == 99:
                time.sleep(0.01)  # paced, so the members' clients (threads of this process) keep up
        deadline = time.monotonic() + 60
        while got[0] < EMITS and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        spent = [cpu_seconds(proc.pid) - b for proc, b in zip(servers, before, strict=True)]
        print(f"{EMITS} room emits, {got[0]} reached a member (disconnects: {drops}); CPU seconds per process:")
        print(f"  with the members: {spent[0]:.2f}")
        print(f"  the three without: {', '.join(f'{s:.2f}' for s in spent[1:])}")
    finally:
        for client in clients:
            client.disconnect()
        for proc in servers:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
