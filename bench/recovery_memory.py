"""Memory of connection state recovery's replay log, per 10,000 buffered events (issue 14).

Records N events the size of the shared benchmark's broadcast (a ~100-byte
JSON payload, to a room) and reports what tracemalloc sees allocated, and what
the log counts against ``max_buffer_size``.

    .venv/bin/python bench/recovery_memory.py [N]
"""

from __future__ import annotations

import sys
import time
import tracemalloc

from surge.protocol import sio
from surge.protocol.sio import SioPacket, SioType
from surge.server.recovery import Recovery

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000


def main() -> None:
    recovery = Recovery(time.monotonic, max_buffer_size=1 << 40)
    texts = [sio.encode(SioPacket(SioType.EVENT, "/", ["msg", {"seq": n, "pad": "x" * 80}]))[0] for n in range(N)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for text in texts:
        recovery.record(text, (), "/", ("r",), ())
    allocated = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    per_entry = allocated / N
    text_bytes = sum(len(e.text) for e in recovery.log) / N
    print(f"{N} events of {text_bytes:.0f} bytes of text: {allocated / 1e6:.2f} MB allocated")
    print(
        f"per 10,000 events: {allocated / N * 10_000 / 1e6:.2f} MB; {per_entry - text_bytes:.0f} bytes per entry besides its text"
    )
    print(f"counted against max_buffer_size: {recovery.size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
