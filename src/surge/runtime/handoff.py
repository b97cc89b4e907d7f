"""Every request of an Engine.IO session reaches the worker that owns it (runtime layer; ``workers=N``).

All workers accept on one listening socket, so the kernel gives a polling
request, or the WebSocket upgrade, of a session to any of them.  A session's id
starts with its worker's tag (:func:`tag`); a worker that reads the headers of
a request for another worker's session passes the connection itself, as a file
descriptor, with the bytes it had read, to that worker through the supervisor
(surge.supervisor), and forgets it.  The owner goes on reading from there as if
it had accepted the connection: no proxying, no sticky balancer.

A hand-off message on the worker's ``SOCK_SEQPACKET`` socket is two bytes, the
owner's index, then the bytes read; the descriptor rides along (``SCM_RIGHTS``).
Under gunicorn (surge.peers) a worker sends it straight to the owner's datagram
socket (``address_of``), as there is no supervisor in between.
"""

from __future__ import annotations

import array
import asyncio
import logging
import socket
import string
from collections.abc import Callable
from urllib.parse import parse_qsl

from surge.protocol import jsoncodec
from surge.runtime.request import Request, build_response

log = logging.getLogger("surge.runtime")

ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"  # as token_urlsafe's
MAX_WORKERS = len(ALPHABET) ** 2
MAX_MESSAGE = 1024 * 1024  # a request's first bytes; the socket buffers are sized for it
# What a request naming no live worker gets: the engine's own answer to an unknown session.
REFUSAL = build_response(
    400,
    [("Content-Type", "application/json")],
    jsoncodec.dumps({"code": 1, "message": "Session ID unknown"}).encode(),
    keep_alive=False,
)


def tag(index: int) -> str:
    """The two characters that start the session ids of worker ``index``."""
    high, low = divmod(index, len(ALPHABET))
    return ALPHABET[high] + ALPHABET[low]


def owner_of(sid: str) -> int | None:
    """The worker a session id names (None: not a worker's id)."""
    if len(sid) < 3:
        return None
    high, low = ALPHABET.find(sid[0]), ALPHABET.find(sid[1])
    return None if high < 0 or low < 0 else high * len(ALPHABET) + low


def message(owner: int, raw: bytes) -> bytes:
    return owner.to_bytes(2, "big") + raw


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """The supervisor's and a worker's ends of a hand-off channel."""
    ends = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for end in ends:
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * MAX_MESSAGE)
        end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * MAX_MESSAGE)
    return ends


class WorkerRouter:
    """One worker's side: decides who owns a request, hands connections over and adopts them."""

    refusal = REFUSAL

    def __init__(
        self,
        index: int,
        workers: int,
        channel: socket.socket,
        adopt: Callable[[socket.socket, bytes], None],
        address_of: Callable[[int], str] | None = None,
    ) -> None:
        self.index = index
        self.address_of = address_of
        self.workers = workers
        self.channel = channel
        self.adopt = adopt
        self.prefix = "/"  # the Engine.IO path (set by the server)
        self.handed = self.adopted = 0  # connections passed to other workers, and taken from them

    def start(self, loop: asyncio.AbstractEventLoop, path: str) -> None:
        self.prefix = path
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._received)

    def counts(self) -> tuple[int, int]:
        """Connections handed over, and adopted, so far."""
        return self.handed, self.adopted

    def owner(self, request: Request) -> int | None:
        if not request.path.startswith(self.prefix) or "sid=" not in request.query:
            return None
        sid = dict(parse_qsl(request.query)).get("sid", "")
        owner = owner_of(sid)
        if owner is None or owner == self.index or owner >= self.workers:
            return None  # this worker's, or nobody's: the engine answers it (an unknown sid gets its 400)
        return owner

    def hand_off(self, transport: asyncio.Transport, owner: int, raw: bytes) -> bool:
        sock = transport.get_extra_info("socket")
        if sock is None or len(raw) > MAX_MESSAGE:
            return False
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [sock.fileno()]))]
        try:
            if self.address_of is None:
                self.channel.sendmsg([message(owner, raw)], rights)
            else:  # socket.send_fds would drop the address (CPython 3.11-3.13)
                self.channel.sendmsg([message(owner, raw)], rights, 0, self.address_of(owner))
        except OSError as exc:
            log.warning("could not hand a connection to worker %d: %s", owner, exc)
            return False
        self.handed += 1
        return True

    def _received(self) -> None:
        while True:
            try:
                data, fds, _flags, _address = socket.recv_fds(self.channel, MAX_MESSAGE + 2, 1)
            except BlockingIOError:
                return
            if not data:
                log.error("the supervisor closed the hand-off channel")
                asyncio.get_running_loop().remove_reader(self.channel.fileno())
                return
            for fd in fds:
                self.adopted += 1
                self.adopt(socket.socket(fileno=fd), data[2:])
