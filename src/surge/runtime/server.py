"""The built-in server: one port for Engine.IO and the WSGI app (runtime layer).

:class:`HttpServer` routes each request: the Engine.IO path to the
:class:`~surge.runtime.engine.EngineServer`, everything else to the WSGI app.
:func:`serve` runs it on uvloop when installed, until SIGINT/SIGTERM, then shuts
down gracefully: every session gets a disconnect, in-flight requests finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from ssl import SSLContext

from surge import client_js as client_js_file
from surge.engine.constants import EioError
from surge.protocol import wsframe
from surge.runtime.channels import Channel, Listener
from surge.runtime.engine import EngineServer
from surge.runtime.flow import FlowControl
from surge.runtime.http import HttpProtocol, Router
from surge.runtime.request import Request, build_response
from surge.runtime.websocket import WebSocketChannel
from surge.runtime.wsgi import WsgiRunner

log = logging.getLogger("surge")

SHUTDOWN_GRACE = 5.0


class HttpServer:
    """Routes requests of every :class:`HttpProtocol` connection."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        engine: EngineServer,
        wsgi: WsgiRunner | None,
        *,
        path: str = "/socket.io/",
        host: str = "127.0.0.1",
        port: int = 5000,
        max_wsgi_body: int = 100 * 1024 * 1024,
        client_js: Path | None = None,
        request_timeout: float = 10.0,
        keep_alive_timeout: float = 75.0,
        max_connections: int | None = None,
        max_write_buffer: int = 1024 * 1024,
        flow: FlowControl | None = None,
        ssl: SSLContext | None = None,
        sockets: list[socket.socket] | None = None,
    ) -> None:
        self.loop = loop
        self.sockets = sockets or []  # listening sockets made elsewhere (gunicorn's), instead of host:port
        self.ssl = ssl  # HTTPS and WSS on the same port when given (Python's ssl on the asyncio transport)
        self.scheme = "https" if ssl is not None else "http"
        self.engine = engine
        self.wsgi = wsgi
        self.path = "/" + path.strip("/") + "/"
        self.host = host
        self.port = port
        self.max_wsgi_body = max_wsgi_body
        self.request_timeout = request_timeout
        self.keep_alive_timeout = keep_alive_timeout
        self.max_connections = max_connections
        self.max_write_buffer = max_write_buffer
        self._refused_logged = 0.0
        # Emitting threads wait on connections that fall behind (the core's, or one of its own).
        self.flow = flow or FlowControl(loop, engine.ping_interval + engine.ping_timeout, max_write_buffer)
        self.connections: set[HttpProtocol] = set()
        self._client_js_paths = {self.path + "socket.io.js", self.path + "socket.io.min.js"}
        self._client_js: tuple[bytes, str] | None = None
        if client_js is not None:
            body = client_js.read_bytes()  # read once: the loop thread must not block on files
            self._client_js = (body, f'"{zlib.crc32(body):08x}"')
        self._servers: list[asyncio.Server] = []
        self.router: Router | None = None  # workers=N: requests of other workers' sessions go to them

    def adopt(self, sock: socket.socket, raw: bytes) -> None:
        """A connection another worker handed over, with the bytes it had read of its request."""

        def factory() -> HttpProtocol:
            return HttpProtocol(self, first=raw)

        self.loop.create_task(self.loop.connect_accepted_socket(factory, sock))

    def refused_connection(self, peer: tuple[str, int]) -> None:
        """Log (at most once a minute) that ``max_connections`` turned a client away."""
        now = self.loop.time()
        if now - self._refused_logged >= 60:
            self._refused_logged = now
            log.warning(
                "refusing connections: %d open (max_connections); first refused: %s", self.max_connections, peer[0]
            )

    def congestion(self, proto: HttpProtocol, congested: bool) -> None:
        self.flow.congestion(proto, congested)

    def hold(self, proto: HttpProtocol) -> None:
        self.flow.hold(proto)

    def is_engine_path(self, path: str) -> bool:
        return path.startswith(self.path) or path == self.path[:-1]

    def max_body_size(self, request: Request) -> int:
        if self.is_engine_path(request.path):
            return self.engine.max_http_buffer_size
        return self.max_wsgi_body

    def dispatch(self, request: Request, proto: HttpProtocol) -> None:
        if request.path in self._client_js_paths and request.method == "GET":
            self._serve_client_js(request, proto)
        elif self.is_engine_path(request.path):
            self.engine.handle_request(request, proto)
        elif self.wsgi is not None:
            self.wsgi.run(request, proto)
        else:
            proto.respond(request, 404, [("Content-Type", "text/plain")], b"Not Found")

    def upgrade(self, request: Request, proto: HttpProtocol, rest: bytes) -> None:
        """A WebSocket handshake (RFC 6455 §4.2): validated and answered here, the channel handed to the engine."""

        def refuse(error: tuple[int, str], message: str | None) -> None:
            # The connection is not kept: what follows the request may be WebSocket frames.
            headers, body = self.engine.error_answer(request, error, message)
            proto.respond_raw(build_response(400, headers, body, keep_alive=False), close=True)

        if not self.is_engine_path(request.path):
            proto.respond_error(404, "Not Found")
            return
        key = request.header("sec-websocket-key")
        if (
            request.method != "GET"
            or key is None
            or (request.header("upgrade") or "").lower() != "websocket"
            or request.header("sec-websocket-version") != "13"
        ):
            refuse(EioError.BAD_REQUEST, "Invalid WebSocket handshake")
            return

        def accept(listener: Listener) -> Channel:
            assert key is not None
            proto.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + wsframe.accept_key(key).encode() + b"\r\n\r\n"
            )
            channel = WebSocketChannel(proto, self.engine.max_http_buffer_size, listener)
            proto.ws = channel
            return channel

        if self.engine.handle_websocket(request, proto.session_environ(request), accept, refuse) and rest:
            proto.data_received(rest)

    def _serve_client_js(self, request: Request, proto: HttpProtocol) -> None:
        """Serve the official browser client, as Node's server does, so pages need no CDN."""
        if self._client_js is None:
            proto.respond(
                request, 404, [("Content-Type", "text/plain; charset=utf-8")], client_js_file.MISSING.encode()
            )
            return
        body, etag = self._client_js
        if request.header("if-none-match") == etag:
            proto.respond(request, 304, [("ETag", etag)])
            return
        headers = [("Content-Type", "application/javascript; charset=utf-8"), ("ETag", etag)]
        proto.respond(request, 200, headers, body)

    async def start(self) -> None:
        """Listen on host and port (port 0 picks a free one, then ``port`` tells which), or on ``sockets``."""

        def factory() -> HttpProtocol:
            return HttpProtocol(self)

        loop = self.loop
        if not self.sockets:
            server = await loop.create_server(
                factory, self.host, self.port, backlog=2048, reuse_address=True, ssl=self.ssl
            )
            self._servers = [server]
            if server.sockets:
                self.port = server.sockets[0].getsockname()[1]
            return
        for sock in self.sockets:
            if sock.family == socket.AF_UNIX:
                self._servers.append(await loop.create_unix_server(factory, sock=sock, backlog=2048, ssl=self.ssl))
            else:
                self._servers.append(await loop.create_server(factory, sock=sock, backlog=2048, ssl=self.ssl))
        name = self.sockets[0].getsockname()
        if isinstance(name, tuple):
            self.host, self.port = str(name[0]), int(name[1])

    async def shutdown(self) -> None:
        """Stop accepting, close sessions with a disconnect, let requests finish."""
        for listening in self._servers:
            listening.close()
        self.engine.close_all()
        deadline = self.loop.time() + SHUTDOWN_GRACE
        await asyncio.sleep(0.1)  # a connection accepted a moment ago sends its request (workers=N: SIGHUP)
        while self.loop.time() < deadline and any(p.ws is None and p.in_request() for p in self.connections):
            await asyncio.sleep(0.05)
        for proto in list(self.connections):
            proto.close()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed, else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve(
    loop: asyncio.AbstractEventLoop,
    server: HttpServer,
    *,
    on_started: Callable[[HttpServer], None] | None = None,
    stop_event: asyncio.Event | None = None,
) -> None:
    """Run ``server`` on ``loop`` until SIGINT/SIGTERM (or ``stop_event``), then shut down."""

    async def main() -> None:
        stop = stop_event or asyncio.Event()
        await server.start()
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        if on_started is not None:
            on_started(server)
        await stop.wait()
        log.info("shutting down")
        await server.shutdown()

    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main())
    finally:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)


__all__ = ["HttpServer", "new_event_loop", "serve"]
