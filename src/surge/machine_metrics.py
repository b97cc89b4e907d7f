"""``/metrics`` for the whole server with ``workers=N`` or gunicorn's ``-w N`` (front layer).

A scrape reaches one worker; it asks the others over their bus (``M?<id>``),
each answers with its snapshot (``M=<id><JSON>``, surge.metrics.Metrics.snapshot),
and surge.metrics adds them up.  These frames never reach the cluster: queue
messages are JSON objects, which start with "{".  A worker that does not answer
within ``WAIT`` is left out, with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from surge.protocol import jsoncodec

if TYPE_CHECKING:
    from surge.queue.peer_bus import PeerBus
    from surge.queue.worker_bus import WorkerBus

log = logging.getLogger("surge")

FRAME = b"M"
WAIT = 1.0


class MachineMetrics:
    """One worker's side: asks the others, and answers them (loop thread)."""

    def __init__(self, bus: WorkerBus | PeerBus, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.bus = bus
        self.snapshot = snapshot
        # A scrape's question: its id -> (the answers, how many are expected, all came).
        self.asked: dict[bytes, tuple[list[dict[str, Any]], int, asyncio.Event]] = {}

    async def others(self) -> list[dict[str, Any]]:
        """The other workers' snapshots."""
        others = await self.bus.subscribers() - 1
        ask = secrets.token_hex(8).encode()
        got: list[dict[str, Any]] = []
        done = asyncio.Event()
        self.asked[ask] = (got, others, done)
        self.bus.publish(FRAME + b"?" + ask)
        try:
            if others > 0:
                await asyncio.wait_for(done.wait(), WAIT)
        except TimeoutError:
            log.warning("metrics: %d of %d other worker(s) answered in %.0f s", len(got), others, WAIT)
        finally:
            del self.asked[ask]
        return got

    def received(self, raw: bytes) -> None:
        """A frame of this protocol from the bus."""
        ask = raw[2:18]
        asked = self.asked.get(ask)  # ours (a numbered bus brings a worker's own frames back too)
        if raw[1:2] == b"?":
            if asked is None:
                self.bus.publish(FRAME + b"=" + ask + jsoncodec.dumps(self.snapshot()).encode())
        elif asked is not None:
            got, others, done = asked
            got.append(jsoncodec.loads(raw[18:]))
            if len(got) >= others:
                done.set()
