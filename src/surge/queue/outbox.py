"""Messages on their way to the queue (queue layer): kept in order while the queue is away.

A transport publishes from :attr:`Outbox.pending` and drops an entry once its
queue has it.  While the queue cannot be reached messages wait for up to
``seconds`` (at most ``limit`` of them); older ones are dropped with an error
log, never silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

log = logging.getLogger("surge.queue")


class Outbox:
    """The messages a transport has still to publish, oldest first."""

    def __init__(self, queue_name: str, seconds: float = 30.0, limit: int = 10_000) -> None:
        self.queue_name = queue_name  # for the log lines: "Redis", "the AMQP broker"
        self.seconds = seconds
        self.limit = limit
        self.pending: deque[tuple[float, bytes]] = deque()
        self.wake = asyncio.Event()  # set when a message comes

    def put(self, data: bytes) -> None:
        """Queue ``data`` (loop thread; never blocks)."""
        if len(self.pending) >= self.limit:
            self.pending.popleft()
            log.error("message queue buffer full (%d messages): dropped the oldest message", self.limit)
        self.pending.append((time.monotonic(), data))
        self.wake.set()

    def expire(self) -> None:
        """Drop what has waited longer than ``seconds`` (the queue is still away)."""
        deadline = time.monotonic() - self.seconds
        dropped = 0
        while self.pending and self.pending[0][0] < deadline:
            self.pending.popleft()
            dropped += 1
        if dropped:
            log.error(
                "%s unreachable for over %.0f s: dropped %d queued message(s)", self.queue_name, self.seconds, dropped
            )
