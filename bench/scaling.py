"""workers=1 against workers=2 on this machine, the load generator sharing the same cores.

    python bench/scaling.py [scenario ...]      (default: echo50 broadcast)

Runs bench/app_def.py with WORKERS=1 and WORKERS=2 in the shared harness with the server
and the load generator both on CPUs 0 and 1 (SERVER_CPU=GEN_CPU=0,1), interleaved, and
prints the medians, each with the CPU split (the generator's share and the rest, the
server's).  Then the hand-off: sequential long-polling echoes, each request on a TCP
connection of its own (so about half land on the worker that does not own the session
and are handed over), timed per request against workers=1, where none is.
REPS (default 3) and DURATION pass through to ../shared/bench/run.sh.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from before_after import HARNESS, ROOT, figure

APP = ROOT / "bench" / "app_def.py"
REQUESTS = 400


def harness(workers: int, scenario: str, results: Path) -> dict[str, object]:
    results.unlink(missing_ok=True)
    env = dict(
        os.environ,
        WORKERS=str(workers),
        PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT / "src")),
        RESULTS=str(results),
        REPS="1",
    )
    env.update(SERVER_CPU="0,1", GEN_CPU="0,1", BENCH_SERVER_CMD=shlex.join([sys.executable, str(APP)]))
    subprocess.run(["bash", str(HARNESS), "custom", scenario], env=env, check=True, stdout=subprocess.DEVNULL)
    row: dict[str, object] = json.loads(results.read_text().splitlines()[-1])
    return row


def split(row: dict[str, object]) -> tuple[float, float]:
    """(generator %, server %) of the two cores' time: the machine's busy time less the generator's."""
    busy = row.get("cpu_busy_pct") or {}
    total = sum(float(v) for v in busy.values()) if isinstance(busy, dict) else 0.0  # percent of one core each
    generator = float(row.get("gen_cpu_pct") or 0.0)
    return generator / 2, max(0.0, total - generator) / 2


def request(port: int, method: str, path: str, body: bytes | None = None) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=body, headers={"Connection": "close"})
        return connection.getresponse().read()
    finally:
        connection.close()


def handoff_latency(workers: int) -> tuple[float, int]:
    """Microseconds per polling request, each on a new connection, with ``workers`` workers; and how
    many of them were handed over (the workers log it as they stop)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(
        os.environ,
        WORKERS=str(workers),
        PORT=str(port),
        PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT / "src")),
        BENCH_LOG="1",
    )
    server = subprocess.Popen([sys.executable, str(APP)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                request(port, "GET", "/socket.io/?EIO=4&transport=polling")
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        base = "/socket.io/?EIO=4&transport=polling"
        sid = json.loads(request(port, "GET", base)[1:])["sid"]
        request(port, "POST", f"{base}&sid={sid}", b"40")
        request(port, "GET", f"{base}&sid={sid}")
        started = time.perf_counter()
        for n in range(REQUESTS):
            request(port, "POST", f"{base}&sid={sid}", f'42{n}["echo",{n}]'.encode())
            assert request(port, "GET", f"{base}&sid={sid}") == f"43{n}[{n}]".encode()
        took = (time.perf_counter() - started) / (2 * REQUESTS) * 1e6
    finally:
        server.terminate()
        _, log = server.communicate(timeout=20)
    handed = sum(int(n) for n in re.findall(r"handed (\d+) connection", log))
    return took, handed


def main() -> None:
    scenarios = sys.argv[1:] or ["echo50", "broadcast"]
    seen: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "r.jsonl"
        for _ in range(int(os.environ.get("REPS", "3"))):
            for scenario in scenarios:
                for workers in (1, 2):
                    row = harness(workers, scenario, results)
                    seen.setdefault((scenario, workers), []).append((figure(row), *split(row)))
    print("| scenario | workers=1 | workers=2 | ratio | CPU split at workers=2 (generator / server) |")
    print("|---|---:|---:|---:|---|")
    for scenario in scenarios:
        one = statistics.median(r[0] for r in seen[(scenario, 1)])
        two = statistics.median(r[0] for r in seen[(scenario, 2)])
        generator = statistics.median(r[1] for r in seen[(scenario, 2)])
        server = statistics.median(r[2] for r in seen[(scenario, 2)])
        print(f"| {scenario} | {one:,.0f} | {two:,.0f} | {two / one:.2f} | {generator:.0f}% / {server:.0f}% |")
    runs = {workers: [handoff_latency(workers) for _ in range(3)] for workers in (1, 2)}
    one = statistics.median(took for took, _ in runs[1])
    two = statistics.median(took for took, _ in runs[2])
    share = statistics.median(handed for _, handed in runs[2]) / (2 * REQUESTS + 3)
    print(
        f"\nA polling request on a new connection: {one:.0f} us with workers=1, {two:.0f} us with workers=2,"
        f" where {share:.0%} were handed over: {(two - one) / share:.0f} us per hand-off"
    )


if __name__ == "__main__":
    main()
