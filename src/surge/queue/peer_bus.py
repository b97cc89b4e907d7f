"""The message queue between the SurgeWorker processes of one gunicorn master (queue layer).

gunicorn forks the workers itself, so there is no supervisor of ours to relay
their messages (surge.queue.worker_bus): each worker listens on a unix socket
``bus-<slot>.sock`` in a directory of its master's (surge.peers) and writes
every message to every other worker listening there, framed as on the worker
bus.  A worker that starts later gets what is sent from then on, as a pub/sub
subscriber does.  Liveness is gunicorn's business (its ``--timeout``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from pathlib import Path

from surge.queue.outbox import Outbox
from surge.queue.worker_bus import MAX_FRAME, frame, frames

log = logging.getLogger("surge.queue")

REFRESH = 1.0  # how often the list of listening workers is read again


def bus_path(directory: Path, slot: int) -> Path:
    return directory / f"bus-{slot}.sock"


class PeerBus:
    """A worker's end: a listener for the others, a connection to each of them (on the event loop)."""

    def __init__(
        self, directory: Path, slot: int, listener: socket.socket, on_message: Callable[[bytes], None]
    ) -> None:
        self.directory = directory
        self.own = bus_path(directory, slot)
        self.listener = listener
        self.on_message = on_message
        self.outbox = Outbox("the other workers")
        self.peers: dict[Path, asyncio.StreamWriter] = {}
        self._known: list[Path] = []
        self._known_at = -REFRESH
        self._tasks: list[asyncio.Task[None]] = []
        self._server: asyncio.AbstractServer | None = None
        self._readers: dict[asyncio.Task[None], asyncio.StreamWriter] = {}  # other workers' connections to this one

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._serve()), loop.create_task(self._publish())]

    async def _serve(self) -> None:
        self._server = await asyncio.start_unix_server(self._read, sock=self.listener, limit=MAX_FRAME)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._readers[task] = writer  # the server's close() leaves its connections to us (close())
        buffer = bytearray()
        try:
            while data := await reader.read(256 * 1024):
                buffer += data
                for message in frames(buffer):
                    self.on_message(message)
        except (ConnectionError, ValueError) as exc:
            log.warning("a worker's bus connection broke: %s", exc)
        finally:
            self._readers.pop(task, None)
            writer.close()

    def _listening(self) -> list[Path]:
        """The other workers' bus sockets (read again every ``REFRESH`` seconds)."""
        now = asyncio.get_running_loop().time()
        if now - self._known_at >= REFRESH:
            self._known = [p for p in sorted(self.directory.glob("bus-*.sock")) if p != self.own]
            self._known_at = now
        return self._known

    async def _writer(self, path: Path) -> asyncio.StreamWriter | None:
        writer = self.peers.get(path)
        if writer is not None and not writer.is_closing():
            return writer
        try:
            _, writer = await asyncio.open_unix_connection(str(path))
        except OSError:
            return None  # a worker that is gone (its socket file stays until its slot is taken again)
        self.peers[path] = writer
        return writer

    async def _publish(self) -> None:
        while True:
            await self.outbox.wake.wait()
            self.outbox.wake.clear()
            while self.outbox.pending:
                framed = frame(self.outbox.pending[0][1])
                for path in self._listening():
                    writer = await self._writer(path)
                    if writer is None:
                        continue
                    writer.write(framed)
                    try:
                        await writer.drain()
                    except ConnectionError:
                        self.peers.pop(path, None)
                self.outbox.sent()

    def publish(self, data: bytes) -> None:
        self.outbox.put(data)

    async def subscribers(self) -> int:
        """This worker and every other one that accepts a connection now."""
        return 1 + sum([await self._writer(path) is not None for path in self._listening()])

    async def close(self) -> None:
        if self._tasks:
            await self.outbox.drain()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
        for connection in self._readers.values():
            connection.close()  # its reader sees the end, and its task returns
        await asyncio.gather(*self._readers, return_exceptions=True)
        for writer in self.peers.values():
            with contextlib.suppress(Exception):
                writer.close()
