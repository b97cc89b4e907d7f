"""What an idle Socket.IO connection costs in Surge's Python objects, and where (issue 13, point 5).

    python bench/connection_memory.py [clients] [async|def] [--top N]

Connects ``clients`` WebSocket clients (default 2,000) to the bench app through
in-memory transports (bench/inprocess.py's), each to namespace "/", then reports
what tracemalloc sees allocated per connection, by source line of Surge (and of
the libraries it calls), largest first.  The transports' own buffers are left
out; the kernel's socket buffers and the event loop's transport (uvloop: about
1.6 KiB a connection, in RSS) are not Python allocations and are not counted
here: the ``memory`` scenario of ``make bench`` measures RSS.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from inprocess import UPGRADE, Bench, masked  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clients", nargs="?", type=int, default=2000)
    parser.add_argument("handlers", nargs="?", default="async", choices=["async", "def"])
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    bench = Bench(args.handlers)
    warm = [bench.connection() for _ in range(50)]  # caches and first-use allocations, not counted
    for proto, _ in warm:
        proto.data_received(UPGRADE)
        proto.data_received(masked("40"))
    bench.settle()
    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    clients = []
    for _ in range(args.clients):
        proto, transport = bench.connection()
        proto.data_received(UPGRADE)
        proto.data_received(masked("40"))
        clients.append((proto, transport))
    bench.settle()
    for _, transport in clients:
        transport.written.clear()  # what the test transport kept of the handshake is not the server's
    after = tracemalloc.take_snapshot()
    stats = [s for s in after.compare_to(before, "lineno") if "tests/runtime/wire.py" not in str(s.traceback)]
    total = sum(s.size_diff for s in stats)
    print(f"{args.clients} idle connections: {total / args.clients:.0f} bytes each in Python objects")
    for stat in stats[: args.top]:
        frame = stat.traceback[0]
        where = frame.filename.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
        print(
            f"{stat.size_diff / args.clients:8.0f} B  {stat.count_diff / args.clients:5.1f} blocks  {where}:{frame.lineno}"
        )


if __name__ == "__main__":
    main()
