"""Redis Streams between Surge processes (queue layer): ``SocketIO(..., message_queue="redis://...", redis_streams=True)``.

The channel is a stream every process appends to (``XADD``, trimmed to about
``STREAM_MAXLEN`` entries) and reads from (``XREAD`` from the last entry it
read).  Unlike pub/sub, a listener that lost Redis for a while resumes where it
left off and misses nothing the stream still holds, and messages buffered
during an outage go out as soon as Redis is back: the stream keeps them for
every listener.  Each listener also subscribes to the pub/sub channel of the
same name, where nothing is published, so ``PUBSUB NUMSUB`` counts the
processes (``fetch_sockets`` waits for that many answers).

Every process of a cluster must use the same transport.

With ``on_entry`` set (connection state recovery across processes) each entry
goes there with its place in the stream, as one integer that grows with the
entry id (:func:`seq`), and ``joined`` is told where this process began
reading, or where the stream resumed after entries it never read.  With
``backfill`` set too, a process that starts first reads the last
``backfill_seconds`` of the stream for it (before any new entry: what came
before this process, for its recovery log), so a client recovers on a process
that was started after its disconnection.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from surge.queue.redis_pubsub import STREAM_MAXLEN, RedisPubSub

log = logging.getLogger("surge.queue")

# An XREAD waits this long for entries, then asks again: under redis-py's socket timeout (5 s by
# default since redis-py 6), or an idle stream's reader times out, reconnects and logs it every 5 s.
BLOCK_MS = 2000
BATCH = 1000  # entries an XREAD returns at most


def _id(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def seq(entry_id: bytes | str) -> int:
    """An entry id ("<ms>-<n>") as one integer in the same order (n stays below 2**24 in a millisecond)."""
    ms, n = _id(entry_id)
    return ms << 24 | n


class RedisStreams(RedisPubSub):
    """Publish to and read one Redis stream from the event loop."""

    last_id: bytes | str = "$"  # the last entry read; "$" until the first connection
    on_entry: Callable[[bytes, int], None] | None = None
    joined: Callable[[int], None] | None = None
    # (entries as (data, seq, age in seconds), oldest first; the seq after which they are complete)
    backfill: Callable[[list[tuple[bytes, int, float]], int], None] | None = None
    backfill_seconds = 0.0

    async def _send(self, client: aioredis.Redis, data: bytes) -> None:
        await client.xadd(self.channel, {"d": data}, maxlen=STREAM_MAXLEN, approximate=True)

    async def _ready_after_outage(self, client: aioredis.Redis) -> str:
        return "the stream keeps them for every listener"

    listening = "stream"

    async def _read(self, client: aioredis.Redis, reconnected: bool) -> None:
        presence = client.pubsub()
        try:
            await presence.subscribe(self.channel)
            await self._resume_point(client, reconnected)
            self.subscribed.set()
            while True:
                batches: Any = await client.xread({self.channel: self.last_id}, count=BATCH, block=BLOCK_MS)
                for _stream, entries in batches:
                    for entry_id, fields in entries:
                        self.last_id = entry_id
                        data = fields.get(b"d")
                        if data is None:
                            continue
                        if self.on_entry is not None:
                            self.on_entry(data, seq(entry_id))
                        else:
                            self.on_message(data)
        finally:
            await presence.aclose()  # type: ignore[no-untyped-call, unused-ignore]  # typed in newer redis-py only

    async def _past(self, client: aioredis.Redis) -> tuple[list[tuple[bytes, int, float]], int]:
        """The stream's entries of the last ``backfill_seconds`` up to where reading begins (data, seq,
        age), and the seq after which they are complete."""
        now_ms = int(time.time() * 1000)
        start = f"{max(0, now_ms - int(self.backfill_seconds * 1000))}-0"
        # Complete from the start of the window; from the beginning if the stream begins later and
        # still holds all it was ever given (Redis 7: entries-added); else from its oldest entry.
        info: Any = await client.xinfo_stream(self.channel)
        since = seq(start) - 1
        first = info.get("first-entry")
        if first and _id(first[0]) > _id(start):
            since = 0 if info.get("entries-added") == info.get("length") else seq(first[0]) - 1
        entries: list[tuple[bytes, int, float]] = []
        cursor = start
        while True:
            batch: Any = await client.xrange(self.channel, min=cursor, max=self.last_id, count=BATCH)
            for entry_id, fields in batch:
                data = fields.get(b"d")
                if data is not None:
                    entries.append((data, seq(entry_id), max(0.0, (now_ms - _id(entry_id)[0]) / 1000)))
            if len(batch) < BATCH:
                break
            last = batch[-1][0]
            cursor = "(" + (last.decode() if isinstance(last, bytes) else last)
        log.info(
            "read %d entries of the stream's last %.0f s for connection state recovery",
            len(entries),
            self.backfill_seconds,
        )
        return entries, since

    async def _resume_point(self, client: aioredis.Redis, reconnected: bool) -> None:
        """Where reading starts: after the newest entry at the first start, after the last one read since."""
        if self.last_id == "$":
            newest: Any = await client.xrevrange(self.channel, count=1)
            self.last_id = newest[0][0] if newest else "0-0"
            past = (await self._past(client) if newest else ([], 0)) if self.backfill is not None else None
            # Joined and backfilled in one step of the loop: no claim sees the one without the other.
            if self.joined is not None:
                self.joined(seq(self.last_id))
            if past is not None:
                assert self.backfill is not None
                self.backfill(*past)
            return
        if not reconnected:
            return
        oldest: Any = await client.xrange(self.channel, count=1)
        if oldest and _id(oldest[0][0]) > _id(self.last_id):
            if self.joined is not None:
                self.joined(seq(oldest[0][0]) - 1)
            log.error(
                "the Redis stream %r no longer holds entry %s (trimmed, or Redis restarted): "
                "messages published meanwhile may be lost",
                self.channel,
                self.last_id,
            )
        log.warning("reconnected to Redis; reading the stream %r from where this process left it", self.channel)
