"""Redis pub/sub between Surge processes (queue layer, asyncio and a blocking publisher).

:class:`RedisPubSub` runs on a server's event loop: one task listens on the
channel, one publishes in order.  When Redis goes away both reconnect with
backoff and log it.  Messages published meanwhile wait in a buffer for up to
``buffer_seconds`` (default 30 s; at most ``buffer_limit`` messages); older
ones are dropped with an error log, never silently.  The listener's connection
never retries on its own: redis-py 8's default (10 tries, up to 1 s apart)
reconnected it through a 2 s Redis restart unseen, hiding the outage from this
log and the pub/sub messages lost in it.  Redis keeps no message for
a subscriber that is not connected, so once Redis answers again the buffer waits
until as many processes listen as did before the outage (``PUBSUB NUMSUB``,
counted every ``LISTENERS_REFRESH`` seconds while all is well), and at most
``BACKOFF_MAX`` seconds: every listener retries at least that often.  A
connection that went stale while Redis restarted costs nothing: redis-py
reconnects it at once, retrying the command one time.

:class:`RedisPublisher` is the blocking publisher of a write-only emitter
(``SocketIO(message_queue=...)`` without an app, e.g. in a Celery worker): it
retries for up to ``buffer_seconds`` and then raises ``ConnectionError``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import redis
import redis.asyncio as aioredis
import redis.retry
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from surge.queue.outbox import Outbox, cancelling

log = logging.getLogger("surge.queue")

BACKOFF_FIRST = 0.2
BACKOFF_MAX = 5.0
LISTENERS_REFRESH = 10.0
STREAM_MAXLEN = 100_000  # entries a Redis stream keeps for listeners that are away (trimmed roughly)


def connect(url: str, retries: int = 1) -> aioredis.Redis:
    """An asyncio client that retries a failed command ``retries`` times at once, no more: the
    loops here own backoff and logging, which redis-py's default retries would hide."""
    return aioredis.Redis.from_url(url, retry=Retry(NoBackoff(), retries))


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
        self.outbox = Outbox("Redis", buffer_seconds, buffer_limit)
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
        if self.subscribed.is_set():
            await self.outbox.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def subscribers(self) -> int:
        """How many processes listen on the channel (this one included); 1 when Redis cannot say."""
        client = connect(self.url)
        try:
            counts = await client.pubsub_numsub(self.channel)
            return int(counts[0][1]) if counts else 1
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            if cancelling():
                raise
            return 1
        finally:
            await client.aclose()

    def publish(self, data: bytes) -> None:
        """Queue ``data`` for the queue (loop thread; never blocks)."""
        self.outbox.put(data)

    async def _publish(self) -> None:
        client = connect(self.url)
        backoff = BACKOFF_FIRST
        try:
            while True:
                await self.outbox.wake.wait()
                self.outbox.wake.clear()
                while self.outbox.pending:
                    _, data = self.outbox.pending[0]
                    try:
                        if backoff > BACKOFF_FIRST:  # recovering from an outage
                            await client.ping()
                            ready = await self._ready_after_outage(client)
                            log.warning(
                                "Redis is back; publishing %d buffered message(s) (%s)", len(self.outbox.pending), ready
                            )
                            backoff = BACKOFF_FIRST
                        await self._send(client, data)
                    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                        if cancelling():
                            raise
                        self.outbox.expire()
                        log.warning(
                            "cannot publish to Redis (%s); %d message(s) waiting, retrying in %.1f s",
                            exc,
                            len(self.outbox.pending),
                            backoff,
                        )
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, BACKOFF_MAX)
                        continue
                    self.outbox.sent()
        finally:
            await client.aclose()

    async def _send(self, client: aioredis.Redis, data: bytes) -> None:
        await client.publish(self.channel, data)

    async def _ready_after_outage(self, client: aioredis.Redis) -> str:
        """Wait (at most BACKOFF_MAX) until the listeners known before the outage have subscribed again."""
        deadline = time.monotonic() + BACKOFF_MAX
        while True:
            counts = await client.pubsub_numsub(self.channel)
            back = int(counts[0][1]) if counts else 0
            if back >= self.listeners or time.monotonic() >= deadline:
                return f"{back} of {self.listeners} listener(s) back"
            await asyncio.sleep(0.05)

    async def _count_listeners(self) -> None:
        """Keep ``listeners`` current while Redis answers (the outage's count is the one before it)."""
        client = connect(self.url)
        pause = 0.25  # soon after the start too, when the other processes are subscribing
        try:
            await self.subscribed.wait()
            while True:
                try:
                    counts = await client.pubsub_numsub(self.channel)
                    if counts and self.subscribed.is_set():
                        self.listeners = max(1, int(counts[0][1]))
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    if cancelling():
                        raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, LISTENERS_REFRESH)
        finally:
            await client.aclose()

    async def _listen(self) -> None:
        """Listen until closed: reconnect with backoff whenever Redis goes away, and log it."""
        backoff = BACKOFF_FIRST
        failed = False
        while True:
            client = connect(self.url, retries=0)
            try:
                await self._read(client, reconnected=failed)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                if cancelling():
                    raise
                if self.subscribed.is_set():  # it was listening: a new outage, retried quickly first
                    backoff = BACKOFF_FIRST
                    self.held = True
                self.subscribed.clear()
                failed = True
                if self.held:
                    log.warning("lost the Redis %s (%s); reconnecting in %.1f s", self.listening, exc, backoff)
                else:  # it never had one: nothing listens there (yet)
                    log.warning("cannot reach Redis (%s); trying again in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
            finally:
                await client.aclose()

    listening = "subscription"  # what the listener holds, for the log lines
    held = False  # whether it ever held one (a first failure is not an outage: nothing listened there)

    async def _read(self, client: aioredis.Redis, reconnected: bool) -> None:
        """Hand every message to ``on_message`` (sets ``subscribed`` once listening); returns only on error."""
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            if reconnected:
                said = "reconnected to Redis; listening on %r again" if self.held else "reached Redis; listening on %r"
                log.warning(said, self.channel)
            self.subscribed.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self.on_message(message["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed in newer redis-py only


class RedisPublisher:
    """Blocking publisher for a write-only emitter (to the stream, with ``streams``)."""

    def __init__(self, url: str, channel: str, *, buffer_seconds: float = 30.0, streams: bool = False) -> None:
        self.client = redis.Redis.from_url(url, retry=redis.retry.Retry(NoBackoff(), 1))
        self.channel = channel
        self.buffer_seconds = buffer_seconds
        self.streams = streams

    def publish(self, data: bytes) -> None:
        """Publish ``data``; retries while Redis is away, then raises ``ConnectionError``."""
        deadline = time.monotonic() + self.buffer_seconds
        backoff = BACKOFF_FIRST
        while True:
            try:
                if self.streams:
                    self.client.xadd(self.channel, {"d": data}, maxlen=STREAM_MAXLEN, approximate=True)
                else:
                    self.client.publish(self.channel, data)
                return
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                if time.monotonic() + backoff > deadline:
                    raise ConnectionError(f"message queue unreachable for {self.buffer_seconds:.0f} s: {exc}") from exc
                log.warning("cannot publish to Redis (%s); retrying in %.1f s", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
