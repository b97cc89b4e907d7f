"""Broadcast throughput across two Surge processes sharing a room through Redis.

    python bench/cluster_broadcast.py [clients] [seconds]

Starts two processes of bench/app_async.py sharing Redis (127.0.0.1:6379), puts the
clients on process B, and measures deliveries/s with the sender on B (local
broadcast, the queue only publishes) and on A (every broadcast crosses Redis).
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(port: int, channel: str, cpu: int) -> subprocess.Popen:
    env = dict(
        os.environ, PORT=str(port), REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), CHANNEL=channel
    )
    proc = subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, str(ROOT / "bench" / "app_async.py")], env=env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def main() -> None:
    clients = sys.argv[1] if len(sys.argv) > 1 else "200"
    seconds = sys.argv[2] if len(sys.argv) > 2 else "10"
    channel = "surge-bench-" + secrets.token_hex(4)
    port_a, port_b = free_port(), free_port()
    servers = [start(port_a, channel, 0), start(port_b, channel, 0)]
    try:
        time.sleep(1)
        for label, sender in (("sender on B (same process)", port_b), ("sender on A (through Redis)", port_a)):
            out = subprocess.run(
                [
                    "taskset",
                    "-c",
                    "1",
                    "node",
                    str(ROOT / "bench" / "cluster_broadcast.js"),
                    str(sender),
                    str(port_b),
                    clients,
                    seconds,
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            print(label, json.loads(out.stdout.strip().splitlines()[-1]))
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
