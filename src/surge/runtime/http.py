"""HTTP/1.1 connections on asyncio, parsed by httptools (runtime layer).

One :class:`HttpProtocol` per TCP connection.  It parses requests and hands
each to its :class:`Owner` (the built-in server, which routes them), and an
``Upgrade:`` request too; once upgraded, the bytes go to the :class:`Upgraded`
channel the owner set (a WebSocket).  Both are Protocols declared here, so
this module depends on nothing above it.

Requests on one connection are answered in order (HTTP/1.1 §6.3.2): a request
that arrives while another is being answered waits its turn.

Limits, all enforced before anything is buffered: header count and size (431),
body size by Content-Length or as it streams in (413), the time a request may
take to arrive (slowloris) and to stay idle between keep-alive requests, and
the bytes a client may leave unread (see :meth:`HttpProtocol.write`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Protocol

import httptools

from surge.runtime.request import ConnectRequest, Request, SessionEnviron, build_environ, build_response

log = logging.getLogger("surge.runtime")

MAX_HEADERS = 100
MAX_HEADER_BYTES = 64 * 1024
MAX_PIPELINED = 16
WRITE_HIGH_WATER = 64 * 1024


class Origin(Protocol):
    """The server a connection was taken over from (surge.runtime.wsgi_bridge): a WSGI server's."""

    environ: dict[str, Any]  # the environ of its request, which the session sees

    def ended(self) -> None:
        """The connection is gone."""


class Upgraded(Protocol):
    """What an upgraded connection (a WebSocket) takes over: the bytes that arrive, and the end."""

    def data_received(self, data: bytes) -> None: ...

    def connection_lost(self) -> None: ...


class Router(Protocol):
    """Which process answers a request (``workers=N``: surge.runtime.handoff); another one gets the connection."""

    refusal: bytes  # the answer when the connection cannot be handed over

    def owner(self, request: Request) -> int | None:
        """The worker that owns ``request``'s session, if not this one."""

    def hand_off(self, transport: asyncio.Transport, owner: int, raw: bytes) -> bool:
        """Pass the connection, and ``raw``, the bytes of the request read so far, to ``owner``."""


class Owner(Protocol):
    """The server an :class:`HttpProtocol` serves requests for (:class:`~surge.runtime.server.HttpServer`)."""

    router: Router | None
    loop: asyncio.AbstractEventLoop
    host: str
    port: int
    scheme: str  # "https" over TLS
    connections: set[HttpProtocol]
    max_connections: int | None
    max_write_buffer: int
    request_timeout: float
    keep_alive_timeout: float

    def refused_connection(self, peer: tuple[str, int]) -> None: ...

    def max_body_size(self, request: Request) -> int: ...

    def dispatch(self, request: Request, proto: HttpProtocol) -> None:
        """Answer ``request`` (a later one on the connection waits for ``proto.respond``)."""

    def upgrade(self, request: Request, proto: HttpProtocol, rest: bytes) -> None:
        """An ``Upgrade:`` request: complete the handshake (setting ``proto.ws``) or answer an error."""

    def congestion(self, proto: HttpProtocol, congested: bool) -> None: ...

    def hold(self, proto: HttpProtocol) -> None: ...


class HttpProtocol(asyncio.Protocol):
    """An HTTP/1.1 server connection (slotted and lean: thousands stay open as WebSockets)."""

    __slots__ = (
        "_busy",
        "_deadline",
        "_deadline_reason",
        "_drain_waiters",
        "_first",
        "_handoff",
        "_header_bytes",
        "_on_lost",
        "_queue",
        "_request",
        "_timer",
        "_too_large",
        "closed",
        "congested",
        "loop",
        "origin",
        "parser",
        "peer",
        "raw",
        "server",
        "transport",
        "write_paused",
        "ws",
    )

    def __init__(self, server: Owner, origin: Origin | None = None, first: bytes = b"") -> None:
        """``origin``: the server the connection was taken over from; ``first``: the bytes of it read
        already (by the worker that handed it over), read here as soon as the connection is made."""
        self.server = server
        self.origin = origin
        self._first = first
        self.loop = server.loop
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.ws: Upgraded | None = None
        self.closed = False
        self.peer: tuple[str, int] = ("", 0)
        self._request: Request | None = None
        self._header_bytes = 0
        self._too_large = False
        # Made when first needed (an idle connection should cost little): pipelined requests waiting
        # their turn (rarely more than one), and writers waiting for the client to read.
        self._queue: list[Request] | None = None
        self._busy = False
        self._on_lost: Callable[[], None] | None = None
        self.write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._deadline_reason: str | None = None
        self.congested = False
        self.raw: bytearray | None = None  # with a router: the current request's bytes, until its headers end
        self._handoff: int | None = None  # the worker this connection goes to

    # -- asyncio callbacks -----------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple):
            self.peer = (str(peer[0]), int(peer[1]))
        server = self.server
        if server.max_connections is not None and len(server.connections) >= server.max_connections:
            server.refused_connection(self.peer)
            self.closed = True
            transport.close()
            return
        server.connections.add(self)
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)  # type: ignore[attr-defined]
        self._arm(server.request_timeout, "request not received in time")
        if self._first:
            first, self._first = self._first, b""
            self.data_received(first)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._disarm()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.server.connections.discard(self)
        if self.congested:
            self.server.congestion(self, False)
        if self.ws is not None:
            self.ws.connection_lost()
        callback, self._on_lost = self._on_lost, None
        if callback is not None:
            callback()
        for waiter in self._drain_waiters or ():
            if not waiter.done():
                waiter.set_result(None)
        if self.origin is not None:
            self.origin.ended()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.congested:
            self.server.congestion(self, False)
        waiters, self._drain_waiters = self._drain_waiters or (), None
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.ws is not None:
            self.ws.data_received(data)
            return
        parser = self.parser
        if parser is None:
            return
        if self.server.router is not None:
            if self._request is None:  # a request starts here (clients do not pipeline)
                self.raw = bytearray(data)
            elif self.raw is not None:
                self.raw += data
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            request = self._request
            self._request = None
            if self._handoff is not None:
                pass  # handed over below
            elif request is not None and not self._too_large:
                self.upgrade(request, data[upgrade.args[0] :])
            else:
                self.parser = None
                self._disarm()
                if not self.closed:
                    self.respond_error(400, "Bad upgrade request")
        except httptools.HttpParserError:
            if not self.closed:
                self.respond_raw(build_response(400, [], b"Bad Request", keep_alive=False), close=True)
        if self._handoff is not None:
            self._hand_off(self._handoff)

    def _hand_off(self, owner: int) -> None:
        """Give the connection to the worker that owns the request's session; this one forgets it."""
        router, raw, transport = self.server.router, self.raw, self.transport
        assert router is not None and transport is not None
        self.parser = None
        self._disarm()
        if raw is None or not router.hand_off(transport, owner, bytes(raw)):
            self.respond_raw(router.refusal, close=True)
            return
        self.raw = None
        self.closed = True
        transport.close()  # this process's descriptor only: the owner's keeps the connection open

    def upgrade(self, request: Request, rest: bytes = b"") -> None:
        """Hand an ``Upgrade:`` request to the owner: one parsed here, or one a WSGI server read before giving
        up its socket (surge.runtime.wsgi_bridge); ``rest`` is what followed it."""
        self.parser = None  # the connection speaks WebSocket from here on; the parser's memory goes
        self._disarm()
        if self._timer is not None:  # and its timer: no request comes any more (600 bytes a connection)
            self._timer.cancel()
            self._timer = None
        request.upgrade = True
        self.server.upgrade(request, self, rest)

    # -- httptools callbacks ---------------------------------------------------

    def on_message_begin(self) -> None:
        self._arm(self.server.request_timeout, "request not received in time")
        self._request = Request()
        self._header_bytes = 0
        self._too_large = False

    def on_url(self, url: bytes) -> None:
        request = self._request
        assert request is not None
        request.raw_path += url
        self._header_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self._request
        assert request is not None
        self._header_bytes += len(name) + len(value)
        if len(request.headers) >= MAX_HEADERS or self._header_bytes > MAX_HEADER_BYTES:
            self._too_large = True
            return
        request.headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        request, parser = self._request, self.parser
        assert request is not None and parser is not None
        parsed: Any = httptools.parse_url(request.raw_path)  # Any: its stub says bytes where a part is None
        request.path = parsed.path.decode("latin-1")
        request.query = (parsed.query or b"").decode("latin-1")
        request.method = parser.get_method().decode("ascii")
        request.version = parser.get_http_version()
        request.keep_alive = parser.should_keep_alive()
        if self._too_large:
            self.respond_error(431, "Request Header Fields Too Large")
            return
        router = self.server.router
        if router is not None:
            owner = router.owner(request)
            if owner is not None:
                self._handoff = owner
                self._request = None  # the rest of this request is the owner's to read
                return
            self.raw = None
        length = request.header("content-length")
        if length is not None and length.isdigit() and int(length) > self.server.max_body_size(request):
            # Refused before a byte of the body is read; the connection cannot be reused.
            self._too_large = True
            self.respond_error(413, "Payload Too Large")

    def on_body(self, body: bytes) -> None:
        request = self._request
        if request is None or self._too_large:
            return
        request.body += body
        if len(request.body) > self.server.max_body_size(request):
            self._too_large = True
            request.body = bytearray()

    def on_message_complete(self) -> None:
        request = self._request
        if request is None or self.parser is None or self.parser.should_upgrade():
            return
        self._request = None
        self._disarm()
        if self.closed:
            return
        if self._too_large:
            status = 431 if self._header_bytes > MAX_HEADER_BYTES or len(request.headers) >= MAX_HEADERS else 413
            self.respond_error(status, HTTPStatus(status).phrase)
            return
        if self._queue is None:
            self._queue = [request]
        elif len(self._queue) >= MAX_PIPELINED:
            self.respond_error(503, "Too many pipelined requests")
            return
        else:
            self._queue.append(request)
        if not self._busy:
            self._next_request()

    # -- dispatch and responses ---------------------------------------------------

    def _next_request(self) -> None:
        while self._queue and not self._busy and not self.closed:
            request = self._queue.pop(0)
            if not self._queue:
                self._queue = None
            self._busy = True
            self.server.dispatch(request, self)

    def respond_raw(self, data: bytes, *, close: bool = False) -> None:
        """Write a complete response and move on to the next request."""
        transport = self.transport
        if self.closed or transport is None:
            return
        transport.write(data)
        if close:
            self.closed = True
            transport.close()
            return
        self._on_lost = None  # that request is answered
        self._busy = False
        if self._queue:
            self._next_request()
        elif self._request is None:
            self._arm(self.server.keep_alive_timeout, None)

    def respond(self, request: Request, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        """Answer ``request`` with a complete response, honouring keep-alive."""
        self.respond_raw(
            build_response(status, headers, body, keep_alive=request.keep_alive), close=not request.keep_alive
        )

    def respond_error(self, status: int, message: str) -> None:
        """A plain-text error that also closes the connection."""
        self.respond_raw(
            build_response(status, [("Content-Type", "text/plain")], message.encode(), keep_alive=False), close=True
        )

    def write(self, data: bytes) -> None:
        """Write to the client.

        Past the high-water mark the transport is paused (see :meth:`drain`); past
        ``max_write_buffer`` bytes the connection is congested: the server holds
        back the threads whose emits reach it until it drains, and drops it if it
        is still congested after the heartbeat window (:meth:`HttpServer.congestion`).
        """
        transport = self.transport
        if self.closed or transport is None:
            return
        transport.write(data)
        if self.write_paused:
            if not self.congested and transport.get_write_buffer_size() > self.server.max_write_buffer:
                self.server.congestion(self, True)
            if self.congested:
                self.server.hold(self)

    def finish_streamed(self, keep_alive: bool) -> None:
        """The streamed response is complete."""
        if keep_alive:
            self.respond_raw(b"")
        elif not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its high-water mark."""
        if self.write_paused and not self.closed:
            waiter = self.loop.create_future()
            if self._drain_waiters is None:
                self._drain_waiters = []
            self._drain_waiters.append(waiter)
            await waiter

    def environ(self, request: Request) -> dict[str, Any]:
        """The WSGI environ of ``request`` (the connect request of a session)."""
        if self.origin is not None:
            return self.origin.environ
        server = self.server
        return build_environ(request, server.host, server.port, self.peer, server.scheme)

    def session_environ(self, request: Request) -> SessionEnviron:
        if self.origin is not None:
            return self.origin.environ
        server = self.server
        return ConnectRequest(request, server.host, server.port, self.peer, server.scheme)

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` if the connection goes away before the current request is answered."""
        if self.closed:
            callback()
        else:
            self._on_lost = callback

    def in_request(self) -> bool:
        """Whether a request is arriving or being answered (a server that stops lets it finish)."""
        return self._busy or self._request is not None

    def close(self) -> None:
        """Close the connection now; unread output is discarded if the client is not reading."""
        if not self.closed and self.transport is not None:
            self.closed = True
            if self.write_paused:
                self.transport.abort()  # close() would hold the buffer until a reader that never comes
            else:
                self.transport.close()

    # -- timeouts --------------------------------------------------------------------

    def _arm(self, seconds: float, reason: str | None) -> None:
        """(Re)set the one deadline: a request must arrive by then, or an idle connection ends.

        The timer is lazy: moving the deadline later only records it, and the timer,
        when it fires early, re-arms itself.  Two requests a poll would otherwise
        allocate and cancel two timers each.
        """
        deadline = self.loop.time() + seconds
        self._deadline, self._deadline_reason = deadline, reason
        if self._timer is None or self._timer.when() > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_at(deadline, self._timed_out)

    def _disarm(self) -> None:
        self._deadline = None

    def _timed_out(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self.closed or self.ws is not None or self._busy:
            return
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._timed_out)
            return
        reason = self._deadline_reason
        if reason is None:  # an idle keep-alive connection
            self.close()
            return
        log.info("closing connection from %s: %s", self.peer[0], reason)
        self.respond_error(408, "Request Timeout")
