"""The message queue between the worker processes of one machine (queue layer): ``workers=N`` needs no Redis.

Each worker has a stream socket to its supervisor (surge.supervisor), which
copies every frame a worker writes to all the other workers; a frame is the
4-byte big-endian length of a message and the message (surge.queue.messages'
JSON, as on Redis).  An empty frame, every ``HEARTBEAT`` seconds, is the worker's
heartbeat: the supervisor keeps it, and kills a worker whose loop has been silent
too long (a handler blocking it).  :class:`WorkerBus` is a worker's end, with the
interface of the other transports (surge.queue.backends.PubSub).

With connection state recovery (and no message queue) the supervisor numbers
what it relays (surge.queue.sequencer) and frames start with a kind: a worker
writes queue messages as ever and ``SESSION`` + JSON for the recovery sessions;
it gets ``LIVE`` + seq + message for every message, its own too, ``ANSWER`` +
JSON for a claim, and when it starts ``PAST`` + seq + age + message for the
recent past, then ``JOINED`` + seq + the seq after which that past is complete.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import Callable

from surge.queue.outbox import Outbox

log = logging.getLogger("surge.queue")

HEADER = struct.Struct(">I")
SEQ = struct.Struct(">Q")
SESSION, LIVE, PAST, JOINED, ANSWER = b"S", b"#", b"P", b"J", b"C"
MAX_FRAME = 64 * 1024 * 1024  # a message larger than this is refused (a broken peer, not an emit)
HEARTBEAT = 1.0


def frame(message: bytes) -> bytes:
    return HEADER.pack(len(message)) + message


def frames(buffer: bytearray) -> list[bytes]:
    """The complete frames at the start of ``buffer``, removed from it."""
    found = []
    while len(buffer) >= HEADER.size:
        (size,) = HEADER.unpack_from(buffer)
        if size > MAX_FRAME:
            raise ValueError(f"a frame of {size} bytes on the worker bus")
        end = HEADER.size + size
        if len(buffer) < end:
            break
        found.append(bytes(buffer[HEADER.size : end]))
        del buffer[:end]
    return found


class WorkerBus:
    """A worker's side of the bus, on its event loop."""

    def __init__(self, sock: socket.socket, workers: int, on_message: Callable[[bytes], None]) -> None:
        self.sock = sock
        self.workers = workers
        self.on_message = on_message
        self.outbox = Outbox("the supervisor")
        self._tasks: list[asyncio.Task[None]] = []
        self._writer: asyncio.StreamWriter | None = None
        # Numbered by the supervisor (connection state recovery; see the module docstring):
        self.on_entry: Callable[[bytes, int], None] | None = None
        self.joined: Callable[[int], None] | None = None
        self.backfill: Callable[[list[tuple[bytes, int, float]], int], None] | None = None
        self.answered: Callable[[bytes], None] | None = None
        self._past: list[tuple[bytes, int, float]] = []

    def start(self) -> None:
        self._tasks = [asyncio.get_running_loop().create_task(self._run())]

    async def _run(self) -> None:
        reader, self._writer = await asyncio.open_unix_connection(sock=self.sock, limit=MAX_FRAME)
        loop = asyncio.get_running_loop()
        self._tasks += [loop.create_task(self._publish()), loop.create_task(self._beat())]
        buffer = bytearray()
        receive = self.on_message if self.on_entry is None else self._numbered
        while data := await reader.read(256 * 1024):
            buffer += data
            for message in frames(buffer):
                receive(message)
        log.error("the supervisor closed the worker bus")

    def _numbered(self, message: bytes) -> None:
        kind = message[:1]
        if kind == LIVE:
            assert self.on_entry is not None
            self.on_entry(message[9:], SEQ.unpack_from(message, 1)[0])
        elif kind == ANSWER:
            if self.answered is not None:
                self.answered(message[1:])
        elif kind == PAST:
            age = HEADER.unpack_from(message, 9)[0] / 1000
            self._past.append((message[13:], SEQ.unpack_from(message, 1)[0], age))
        elif kind == JOINED:
            joined, since = SEQ.unpack_from(message, 1)[0], SEQ.unpack_from(message, 9)[0]
            if self.joined is not None:
                self.joined(joined)
            if self.backfill is not None:
                self.backfill(self._past, since)
            self._past = []

    async def _publish(self) -> None:
        writer = self._writer
        assert writer is not None
        while True:
            await self.outbox.wake.wait()
            self.outbox.wake.clear()
            while self.outbox.pending:
                writer.write(frame(self.outbox.pending[0][1]))
                self.outbox.sent()
            await writer.drain()

    async def _beat(self) -> None:
        writer = self._writer
        assert writer is not None
        while True:
            writer.write(frame(b""))
            await asyncio.sleep(HEARTBEAT)

    def publish(self, data: bytes) -> None:
        self.outbox.put(data)

    async def subscribers(self) -> int:
        """Every worker listens (one being restarted answers nothing: fetch_sockets then waits its timeout)."""
        return self.workers

    async def close(self) -> None:
        if self._writer is not None:
            await self.outbox.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()
