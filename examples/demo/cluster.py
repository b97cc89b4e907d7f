"""The demo as two processes sharing rooms through Redis: ``make demo-cluster``.

Serves examples/demo/app.py on PORT (default 5000) and PORT+1, both with
SURGE_MESSAGE_QUEUE set, so a notification sent on one page reaches the recipient's tabs
on either process.  It uses the Redis at 127.0.0.1:6379 when one answers there, else starts
a throwaway redis-server of its own.  Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

APP = Path(__file__).with_name("app.py")


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    port = int(os.environ.get("PORT", "5000"))
    started: list[subprocess.Popen[bytes]] = []
    redis_port = 6379
    if not answers(redis_port):
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("demo-cluster needs Redis: install redis-server (make system-test does), or run one on :6379")
        redis_port = free_port()
        started.append(subprocess.Popen([binary, "--port", str(redis_port), "--save", "", "--appendonly", "no"]))
        while not answers(redis_port):
            time.sleep(0.05)
    queue = f"redis://127.0.0.1:{redis_port}/0"
    for each in (port, port + 1):
        env = dict(os.environ, PORT=str(each), SURGE_MESSAGE_QUEUE=queue)
        started.append(subprocess.Popen([sys.executable, str(APP)], env=env))
    while not (answers(port) and answers(port + 1)):
        time.sleep(0.1)
    print(f" * the demo on http://127.0.0.1:{port} and http://127.0.0.1:{port + 1}, sharing {queue}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(process.poll() is None for process in started):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            process.wait(10)


if __name__ == "__main__":
    main()
