"""Surge's own cost per echo, with no sockets: the bench app behind an in-memory transport.

    python bench/inprocess.py [websocket|polling] [async|def] [--profile | --instructions]

The load-generator benchmarks (compare.py) include the kernel's share (a ``send()``
per answer) and the generator's noise; this measures only the Python that runs per
echo, repeatably, so a change to the hot path can be judged in seconds.  With
``--profile`` it prints cProfile's top functions instead.  With ``--instructions`` it
counts the instructions per echo under valgrind's callgrind, which do not move with the
machine's speed: it runs itself twice, with ``ROUNDS`` and twice as many rounds of echoes,
and divides the difference by the extra echoes, so start-up and set-up cancel out (about
two minutes).  Not a test: it asserts only that every echo was answered.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the in-memory transport of the runtime tests

from tests.runtime.wire import UPGRADE, FakeTransport, masked  # noqa: E402

from surge.runtime.http import HttpProtocol  # noqa: E402
from surge.runtime.server import HttpServer, new_event_loop  # noqa: E402

ROUNDS = {"websocket": 400, "polling": 100}  # rounds of echoes per timed run (CLIENTS echoes a round)
PAYLOAD = '{"seq":1,"pad":"' + "x" * 80 + '"}'  # the shared harness's ~100-byte echo payload
CLIENTS = 50


def polling_request(method: str, sid: str | None, body: str = "") -> bytes:
    query = "EIO=4&transport=polling" + (f"&sid={sid}" if sid else "")
    head = f"{method} /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if method == "POST":
        head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body.encode())}\r\n"
    return (head + "\r\n").encode() + body.encode()


class Bench:
    def __init__(self, handlers: str) -> None:
        socketio = runpy.run_path(str(ROOT / "bench" / f"app_{handlers}.py"), run_name="bench")["socketio"]
        self.loop = new_event_loop()
        asyncio.set_event_loop(self.loop)
        engine = socketio.core.start(self.loop)
        self.http = HttpServer(self.loop, engine, None, max_connections=None)

    def connection(self) -> tuple[HttpProtocol, FakeTransport]:
        proto = HttpProtocol(self.http)
        transport = FakeTransport()
        proto.connection_made(transport)
        return proto, transport

    def settle(self) -> None:
        self.loop.run_until_complete(asyncio.sleep(0.05))

    async def until(self, done: Any) -> None:
        while not done():
            await asyncio.sleep(0)


def websocket_rounds(bench: Bench, rounds: int) -> Any:
    """Each of CLIENTS connections sends one echo per round and waits for its ack."""
    clients = []
    for _ in range(CLIENTS):
        proto, transport = bench.connection()
        proto.data_received(UPGRADE)
        proto.data_received(masked("40"))
        clients.append((proto, transport))
    bench.settle()
    message = masked(f'421["echo",{PAYLOAD}]')

    async def run() -> None:
        for _, transport in clients:
            transport.written.clear()
        for _ in range(rounds):
            for proto, _ in clients:
                proto.data_received(message)
            await bench.until(lambda: all(b"431[" in transport.written for _, transport in clients))
            for _, transport in clients:
                transport.written.clear()

    return run, rounds * CLIENTS


def polling_rounds(bench: Bench, rounds: int) -> Any:
    """CLIENTS long-polling clients: each round, a waiting GET each, then a POST whose ack answers it."""
    clients = []
    for _ in range(CLIENTS):
        getter, get_transport = bench.connection()
        poster, _ = bench.connection()
        getter.data_received(polling_request("GET", None))
        sid = json.loads(bytes(get_transport.written).split(b"\r\n\r\n", 1)[1][1:])["sid"]
        poster.data_received(polling_request("POST", sid, "40"))
        getter.data_received(polling_request("GET", sid))
        clients.append((getter, get_transport, poster, sid))
    bench.settle()
    requests = [
        (polling_request("GET", sid), polling_request("POST", sid, f'421["echo",{PAYLOAD}]'))
        for _, _, _, sid in clients
    ]

    async def run() -> None:
        for _ in range(rounds):
            for (getter, get_transport, poster, _), (poll, echo) in zip(clients, requests, strict=True):
                get_transport.written.clear()
                getter.data_received(poll)
                poster.data_received(echo)
            await bench.until(lambda: all(b"431[" in transport.written for _, transport, _, _ in clients))

    return run, rounds * CLIENTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("transport", nargs="?", default="websocket", choices=["websocket", "polling"])
    parser.add_argument("handlers", nargs="?", default="async", choices=["async", "def"])
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--instructions", action="store_true", help="count instructions per echo (callgrind)")
    parser.add_argument("--rounds", type=int, help=argparse.SUPPRESS)  # one run of this many: --instructions
    args = parser.parse_args()
    if args.instructions:
        count_instructions(args.transport, args.handlers)
        return
    bench = Bench(args.handlers)
    rounds = args.rounds or ROUNDS[args.transport]
    run, echoes = (websocket_rounds if args.transport == "websocket" else polling_rounds)(bench, rounds)
    if args.rounds:
        bench.loop.run_until_complete(run())
        return
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(bench.loop.run_until_complete, run())
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        return
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        bench.loop.run_until_complete(run())
        best = min(best, time.perf_counter() - start)
    print(f"{args.transport}, {args.handlers} handlers: {best / echoes * 1e6:.2f} µs of Surge per echo (best of 5)")


def count_instructions(transport: str, handlers: str) -> None:
    """Instructions per echo: two runs under callgrind, the second with ROUNDS more rounds."""
    if shutil.which("valgrind") is None:
        sys.exit("--instructions needs valgrind (Debian: apt install valgrind)")
    rounds = ROUNDS[transport]
    counts = [callgrind_total([transport, handlers, "--rounds", str(n)]) for n in (rounds, 2 * rounds)]
    per_echo = (counts[1] - counts[0]) / (rounds * CLIENTS)
    print(f"{transport}, {handlers} handlers: {per_echo / 1000:.1f}k instructions per echo (callgrind)")


def callgrind_total(argv: list[str]) -> int:
    """The instructions callgrind counted in one run of this script with ``argv``."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__, *argv]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        sys.exit(f"no instruction count in callgrind's output:\n{out.stderr[-2000:]}")
    return int(found.group(1))


if __name__ == "__main__":
    main()
