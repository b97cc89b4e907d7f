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
from collections.abc import Callable

log = logging.getLogger("surge.queue")

DRAIN_SECONDS = 2.0  # how long a closing transport keeps publishing what is still queued


def cancelling() -> bool:
    """Whether the running task is being cancelled: a transport's retry loop then stops.

    A failure caught while a cancel is pending may be that cancel turned into a timeout
    (Python 3.11's ``asyncio.timeout`` inside redis-py can do that); retrying would
    swallow it and keep a closing server waiting for ever.
    """
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class Outbox:
    """The messages a transport has still to publish, oldest first."""

    def __init__(self, queue_name: str, seconds: float = 30.0, limit: int = 10_000) -> None:
        self.queue_name = queue_name  # for the log lines: "Redis", "the AMQP broker"
        self.seconds = seconds
        self.limit = limit
        self.pending: deque[tuple[float, bytes]] = deque()
        self.wake = asyncio.Event()  # set when a message comes
        self.waited: Callable[[float], None] | None = None  # told how long each message waited (metrics)

    def put(self, data: bytes) -> None:
        """Queue ``data`` (loop thread; never blocks)."""
        if len(self.pending) >= self.limit:
            self.pending.popleft()
            log.error("message queue buffer full (%d messages): dropped the oldest message", self.limit)
        self.pending.append((time.monotonic(), data))
        self.wake.set()

    def sent(self) -> None:
        """The oldest message is with the queue now."""
        put_at, _ = self.pending.popleft()
        if self.waited is not None:
            self.waited(time.monotonic() - put_at)

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Wait (at most ``seconds``) for the publisher to hand over what is queued: a server that
        stops still tells the others what its last moments did (disconnects, their handlers' emits)."""
        deadline = time.monotonic() + seconds
        while self.pending and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        if self.pending:
            log.error("closing with %d message(s) not published to %s", len(self.pending), self.queue_name)

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
