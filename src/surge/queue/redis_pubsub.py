"""Redis pub/sub between Surge processes (queue layer, asyncio and a blocking publisher).

:class:`RedisPubSub` runs on a server's event loop: one task listens on the
channel, one publishes in order.  When Redis goes away both reconnect with
backoff and log it.  Messages published meanwhile wait in a buffer for up to
``buffer_seconds`` (default 30 s; at most ``buffer_limit`` messages); older
ones are dropped with an error log, never silently.  Redis keeps no message for
a subscriber that is not connected, so once Redis answers again the buffer waits
until as many processes listen as did before the outage (``PUBSUB NUMSUB``,
counted every ``LISTENERS_REFRESH`` seconds while all is well), and at most
``BACKOFF_MAX`` seconds: every listener retries at least that often.  A
connection that went stale while Redis restarted costs nothing: redis-py
reconnects it on the next command.

:class:`RedisPublisher` is the blocking publisher of a write-only emitter
(``SocketIO(message_queue=...)`` without an app, e.g. in a Celery worker): it
retries for up to ``buffer_seconds`` and then raises ``ConnectionError``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

import redis
import redis.asyncio as aioredis

log = logging.getLogger("surge.queue")

BACKOFF_FIRST = 0.2
BACKOFF_MAX = 5.0
LISTENERS_REFRESH = 10.0


class RedisPubSub:
    """Publish to and listen on one Redis channel from the event loop."""

    def __init__(
        self,
        url: str,
        channel: str,
        on_message: Callable[[bytes], None],
        *,
        buffer_seconds: float = 30.0,
        buffer_limit: int = 10_000,
    ) -> None:
        self.url = url
        self.channel = channel
        self.on_message = on_message
        self.buffer_seconds = buffer_seconds
        self.buffer_limit = buffer_limit
        self._pending: deque[tuple[float, bytes]] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.subscribed = asyncio.Event()
        self.listeners = 1  # processes known to listen on the channel before an outage

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._listen()),
            loop.create_task(self._publish()),
            loop.create_task(self._count_listeners()),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def subscribers(self) -> int:
        """How many processes listen on the channel (this one included); 1 when Redis cannot say."""
        client = aioredis.Redis.from_url(self.url)
        try:
            counts = await client.pubsub_numsub(self.channel)
            return int(counts[0][1]) if counts else 1
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return 1
        finally:
            await client.aclose()

    def publish(self, data: bytes) -> None:
        """Queue ``data`` for the channel (loop thread; never blocks)."""
        if len(self._pending) >= self.buffer_limit:
            self._pending.popleft()
            log.error("message queue buffer full (%d messages): dropped the oldest message", self.buffer_limit)
        self._pending.append((time.monotonic(), data))
        self._wake.set()

    async def _publish(self) -> None:
        client = aioredis.Redis.from_url(self.url)
        backoff = BACKOFF_FIRST
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    _, data = self._pending[0]
                    try:
                        if backoff > BACKOFF_FIRST:  # recovering from an outage
                            await client.ping()
                            back = await self._wait_for_listeners(client)
                            log.warning(
                                "Redis is back; publishing %d buffered message(s) (%d of %d listener(s) back)",
                                len(self._pending),
                                back,
                                self.listeners,
                            )
                            backoff = BACKOFF_FIRST
                        await client.publish(self.channel, data)
                    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                        self._expire()
                        log.warning(
                            "cannot publish to Redis (%s); %d message(s) waiting, retrying in %.1f s",
                            exc,
                            len(self._pending),
                            backoff,
                        )
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, BACKOFF_MAX)
                        continue
                    self._pending.popleft()
        finally:
            await client.aclose()

    async def _wait_for_listeners(self, client: aioredis.Redis) -> int:
        """Wait (at most BACKOFF_MAX) until the listeners known before the outage have subscribed again."""
        deadline = time.monotonic() + BACKOFF_MAX
        while True:
            counts = await client.pubsub_numsub(self.channel)
            back = int(counts[0][1]) if counts else 0
            if back >= self.listeners or time.monotonic() >= deadline:
                return back
            await asyncio.sleep(0.05)

    async def _count_listeners(self) -> None:
        """Keep ``listeners`` current while Redis answers (the outage's count is the one before it)."""
        client = aioredis.Redis.from_url(self.url)
        pause = 0.25  # soon after the start too, when the other processes are subscribing
        try:
            await self.subscribed.wait()
            while True:
                try:
                    counts = await client.pubsub_numsub(self.channel)
                    if counts and self.subscribed.is_set():
                        self.listeners = max(1, int(counts[0][1]))
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    pass
                await asyncio.sleep(pause)
                pause = min(pause * 2, LISTENERS_REFRESH)
        finally:
            await client.aclose()

    def _expire(self) -> None:
        deadline = time.monotonic() - self.buffer_seconds
        dropped = 0
        while self._pending and self._pending[0][0] < deadline:
            self._pending.popleft()
            dropped += 1
        if dropped:
            log.error("Redis unreachable for over %.0f s: dropped %d queued message(s)", self.buffer_seconds, dropped)

    async def _listen(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            client = aioredis.Redis.from_url(self.url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if backoff > BACKOFF_FIRST:
                    log.warning("reconnected to Redis; listening on %r again", self.channel)
                backoff = BACKOFF_FIRST
                self.subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.on_message(message["data"])
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                self.subscribed.clear()
                log.warning("lost the Redis subscription (%s); reconnecting in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                await client.aclose()


class RedisPublisher:
    """Blocking publisher for a write-only emitter."""

    def __init__(self, url: str, channel: str, *, buffer_seconds: float = 30.0) -> None:
        self.client = redis.Redis.from_url(url)
        self.channel = channel
        self.buffer_seconds = buffer_seconds

    def publish(self, data: bytes) -> None:
        """Publish ``data``; retries while Redis is away, then raises ``ConnectionError``."""
        deadline = time.monotonic() + self.buffer_seconds
        backoff = BACKOFF_FIRST
        while True:
            try:
                self.client.publish(self.channel, data)
                return
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                if time.monotonic() + backoff > deadline:
                    raise ConnectionError(f"message queue unreachable for {self.buffer_seconds:.0f} s: {exc}") from exc
                log.warning("cannot publish to Redis (%s); retrying in %.1f s", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
