"""Connection state recovery's sessions in Redis, for every process of a cluster (queue layer).

A session is the hash ``<channel>:session:<pid>`` (node, sid, ns, rooms as
JSON, connect: the stream position when it first connected, lost: "1" once its
connection was lost).  It is written when it changes, not when its connection
is lost, so a process killed with SIGKILL leaves its sessions behind: a
connected socket's hash expires ``window + LIVE_MARGIN`` seconds after its
process last refreshed it (every ``REFRESH`` s), a lost one ``window`` seconds
after the loss.

Claiming reads and deletes the hash in one script, so one process gets it.  A
process changes or deletes a session only while the hash still names it (a
script too): one that learns late that a connection was lost cannot overwrite
the session another process has recovered meanwhile.  Every command of this
process goes through one queue, claims included, so a claim sees what this
process wrote before it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from surge.queue.outbox import cancelling
from surge.queue.redis_pubsub import connect
from surge.server.recovery import Shared

log = logging.getLogger("surge.queue")

REFRESH = 30.0  # a process renews its connected sessions this often
LIVE_MARGIN = 2 * REFRESH  # a connected session outlives its process's last renewal by the window and this
BACKOFF = 1.0
DRAIN = 2.0  # a stopping process waits this long at most for its changes to reach Redis

CLAIM = """
local s = redis.call('HGETALL', KEYS[1])
if #s > 0 then redis.call('DEL', KEYS[1]) end
return s
"""
UPDATE_IF_MINE = """
if redis.call('HGET', KEYS[1], 'node') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""
DELETE_IF_MINE = """
if redis.call('HGET', KEYS[1], 'node') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

Claim = Callable[[Shared | None], None]
Op = tuple[str, str, Any]  # (what, pid, the Shared to write or the claim's callback)


class RedisSessions:
    """A :class:`~surge.server.recovery.SessionStore` on Redis, run on the event loop."""

    def __init__(self, url: str, channel: str, node: str, window: float) -> None:
        self.url = url
        self.prefix = f"{channel}:session:"
        self.node = node
        self.window_ms = int(window * 1000)
        self.live_ms = int((window + LIVE_MARGIN) * 1000)
        self.live: set[str] = set()  # pids of this process's connected sessions
        self.ops: deque[Op] = deque()  # in order; each wake-up sends all of them in one pipeline
        self.wake = asyncio.Event()
        self._writing = False  # a batch is on its way to Redis
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._write()), loop.create_task(self._refresh())]

    async def close(self) -> None:
        """Once what is queued is written (a stopping process's sessions are lost, not ended: its
        clients come back to another process), or after ``DRAIN`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN
        while (self.ops or self._writing) and self._tasks and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- SessionStore ---------------------------------------------------------------------------

    def saved(self, shared: Shared) -> None:
        if shared.pid in self.live:
            self._queue("update", shared.pid, shared)
        else:  # connected, or recovered: it is this process's now
            self.live.add(shared.pid)
            self._queue("create", shared.pid, shared)

    def lost(self, pid: str) -> None:
        self.live.discard(pid)
        self._queue("lost", pid, None)

    def ended(self, pid: str) -> None:
        self.live.discard(pid)
        self._queue("end", pid, None)

    def claim(self, pid: str, done: Claim) -> None:
        self._queue("claim", pid, done)

    def _queue(self, what: str, pid: str, arg: Any) -> None:
        self.ops.append((what, pid, arg))
        self.wake.set()

    # -- I/O ------------------------------------------------------------------------------------

    async def _write(self) -> None:
        client = connect(self.url)
        claim = client.register_script(CLAIM)
        update = client.register_script(UPDATE_IF_MINE)
        delete = client.register_script(DELETE_IF_MINE)
        try:
            while True:
                await self.wake.wait()
                self.wake.clear()
                while self.ops:
                    batch = list(self.ops)
                    self.ops.clear()
                    self._writing = True
                    try:
                        await self._run(client, batch, claim, update, delete)
                    except (redis.RedisError, OSError) as exc:
                        if cancelling():
                            raise
                        self._failed(batch, exc)
                        await asyncio.sleep(BACKOFF)
                    finally:
                        self._writing = False
        finally:
            await client.aclose()

    async def _run(self, client: aioredis.Redis, batch: list[Op], *scripts: Any) -> None:
        claim, update, delete = scripts
        pipe = client.pipeline(transaction=False)
        claims: list[tuple[int, str, Claim]] = []
        for what, pid, arg in batch:
            key = self.prefix + pid
            if what == "update":
                await update(keys=[key], args=[self.node, self.live_ms, "rooms", json.dumps(arg.rooms)], client=pipe)
            elif what == "create":
                pipe.delete(key)
                pipe.hset(key, mapping=self._fields(arg))
                pipe.pexpire(key, self.live_ms)
            elif what == "lost":
                await update(keys=[key], args=[self.node, self.window_ms, "lost", "1"], client=pipe)
            elif what == "end":
                await delete(keys=[key], args=[self.node], client=pipe)
            else:
                claims.append((len(pipe), pid, arg))
                await claim(keys=[key], client=pipe)
        results = await pipe.execute()
        for index, pid, done in claims:
            done(self._shared(pid, results[index]))

    def _fields(self, shared: Shared) -> dict[FieldT, EncodableT]:
        return {
            "node": self.node,
            "sid": shared.sid,
            "ns": shared.namespace,
            "rooms": json.dumps(shared.rooms),
            "connect": shared.connect_seq,
        }

    def _failed(self, batch: list[Op], exc: BaseException) -> None:
        """Claims cannot wait for Redis (their clients get a new session); the rest is written later."""
        retry: list[Op] = []
        for op in batch:
            if op[0] == "claim":
                op[2](None)
            else:
                retry.append(op)
        self.ops.extendleft(reversed(retry))
        log.warning("cannot reach Redis for recovery sessions (%s); %d change(s) waiting", exc, len(retry))

    def _shared(self, pid: str, flat: list[bytes]) -> Shared | None:
        if not flat:
            return None
        fields = {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}
        try:
            rooms = json.loads(fields["rooms"])
            return Shared(
                pid,
                fields["node"],
                fields["sid"],
                fields["ns"],
                rooms,
                int(fields["connect"]),
                fields.get("lost") == "1",
            )
        except (KeyError, ValueError) as exc:
            log.warning("ignoring a malformed recovery session in Redis (%s)", exc)
            return None

    async def _refresh(self) -> None:
        """Keep this process's connected sessions alive (a dead process's expire after the window)."""
        client = connect(self.url)
        try:
            while True:
                await asyncio.sleep(REFRESH)
                pipe = client.pipeline(transaction=False)
                for pid in list(self.live):
                    pipe.pexpire(self.prefix + pid, self.live_ms)
                try:
                    await pipe.execute()
                except (redis.RedisError, OSError) as exc:
                    if cancelling():
                        raise
                    log.warning("cannot renew recovery sessions in Redis (%s)", exc)
        finally:
            await client.aclose()
