"""An ASGI adapter, for deployments that must run under uvicorn, hypercorn or another ASGI server (runtime layer).

It is the slower path: the ASGI message interface adds an allocation and an
await per message, and the ASGI server frames every WebSocket message itself,
so a broadcast cannot share its frame bytes.  The built-in server
(``socketio.run(app)``) is the fast one.

Requests under the Engine.IO path go to the same :class:`EngineServer` as on
the built-in server; other HTTP requests go to the WSGI app (the Flask routes,
run in the worker pool) or to ``other_asgi_app``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from surge.engine.outgoing import Outgoing
from surge.runtime.channels import Channel, Listener
from surge.runtime.engine import EngineServer
from surge.runtime.pool import WorkerPool
from surge.runtime.request import ConnectRequest, Request, build_environ
from surge.runtime.wsgi import WSGIApp

log = logging.getLogger("surge.asgi")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Starter = Callable[[asyncio.AbstractEventLoop], tuple[EngineServer, WorkerPool]]
# A Flask route's chunks handed to the ASGI server and not sent yet, past which its worker waits.
CHUNKS_IN_FLIGHT = 8


def _request(scope: Scope) -> Request:
    request = Request()
    request.method = scope.get("method", "GET")
    request.path = scope["path"]
    request.raw_path = scope.get("raw_path") or scope["path"].encode("latin-1")
    request.query = scope.get("query_string", b"").decode("latin-1")
    request.version = scope.get("http_version", "1.1")
    request.headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
    return request


def _addresses(scope: Scope) -> tuple[str, int, tuple[str, int]]:
    host, port = scope.get("server") or ("127.0.0.1", 0)
    client = scope.get("client") or ("", 0)
    return str(host), int(port or 0), (str(client[0]), int(client[1]))


class _HttpResponder:
    """What the engine answers a polling request through, on an ASGI connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop, host: str, port: int, peer: tuple[str, int]) -> None:
        self.answer: asyncio.Future[tuple[int, list[tuple[str, str]], bytes]] = loop.create_future()
        self._on_lost: list[Callable[[], None]] = []
        self._addresses = (host, port, peer)

    def environ(self, request: Request) -> dict[str, Any]:
        return build_environ(request, *self._addresses)

    def session_environ(self, request: Request) -> ConnectRequest:
        return ConnectRequest(request, *self._addresses)

    def respond(self, request: Request, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        if not self.answer.done():
            self.answer.set_result((status, headers, body))

    def on_lost(self, callback: Callable[[], None]) -> None:
        self._on_lost.append(callback)

    def lost(self) -> None:
        callbacks, self._on_lost = self._on_lost, []
        for callback in callbacks:
            callback()


class _AsgiChannel:
    """A WebSocket of the ASGI server, as the engine's :class:`Channel`.

    ``send`` is async in ASGI while the engine writes synchronously, so messages
    go through a queue that one task drains in order.
    """

    def __init__(self, send: Send, listener: Listener) -> None:
        self.closed = False
        self.listener = listener
        self._send = send
        self._queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self._queue.put_nowait({"type": "websocket.accept"})
        self.writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                return
            try:
                await self._send(message)
            except Exception:  # the ASGI server's own error for a gone client
                self.connection_lost()
                return
            if message["type"] == "websocket.close":
                return

    def send(self, data: str | bytes) -> None:
        if not self.closed:
            self._queue.put_nowait(
                {"type": "websocket.send", "text": data}
                if isinstance(data, str)
                else {"type": "websocket.send", "bytes": data}
            )

    def send_outgoing(self, message: Outgoing, version: int) -> None:
        self.send("4" + message.text)
        for attachment in message.attachments:
            self.send(b"\x04" + attachment if version == 3 else attachment)

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        if not self.closed:
            # ASGI has no close without a status code: 1000 stands for it.
            self._queue.put_nowait({"type": "websocket.close", "code": code or 1000, "reason": reason})
            self.connection_lost()

    def connection_lost(self) -> None:
        if not self.closed:
            self.closed = True
            self.listener.on_close()


class AsgiApp:
    """The ASGI 3 application returned by ``SocketIO.asgi_app()``."""

    def __init__(
        self, start: Starter, path: str, wsgi_app: WSGIApp | None = None, other_asgi_app: ASGIApp | None = None
    ) -> None:
        self._start = start
        self.path = "/" + path.strip("/") + "/"
        self.wsgi_app = wsgi_app
        self.other_asgi_app = other_asgi_app
        self.engine: EngineServer | None = None
        self.pool: WorkerPool | None = None

    def _started(self) -> EngineServer:
        if self.engine is None:
            self.engine, self.pool = self._start(asyncio.get_running_loop())
        return self.engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        path = scope.get("path", "")
        ours = path.startswith(self.path) or path == self.path[:-1]
        if ours and kind == "http":
            await self._http(scope, receive, send)
        elif ours and kind == "websocket":
            await self._websocket(scope, receive, send)
        elif self.other_asgi_app is not None:
            await self.other_asgi_app(scope, receive, send)
        elif kind == "http" and self.wsgi_app is not None:
            await self._wsgi(scope, receive, send)
        elif kind == "http":
            await _plain(send, 404, b"Not Found")
        else:
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._started()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.engine is not None:
                    self.engine.close_all()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive: Receive, limit: int) -> bytes | None:
        """The request body, or None when it is over ``limit`` or the client left."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > limit:
                return None
            if not message.get("more_body"):
                return bytes(body)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        engine = self._started()
        request = _request(scope)
        body = await self._read_body(receive, engine.max_http_buffer_size)
        if body is None:
            await _plain(send, 413, b"Payload Too Large")
            return
        request.body = bytearray(body)
        host, port, peer = _addresses(scope)
        responder = _HttpResponder(asyncio.get_running_loop(), host, port, peer)
        engine.handle_request(request, responder)

        watcher = asyncio.get_running_loop().create_task(_on_disconnect(receive, responder.lost))
        try:
            status, headers, payload = await responder.answer
        finally:
            watcher.cancel()
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        raw_headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        engine = self._started()
        if (await receive())["type"] != "websocket.connect":
            return
        request = _request(scope)
        host, port, peer = _addresses(scope)
        channel: _AsgiChannel | None = None

        def accept(listener: Listener) -> Channel:
            nonlocal channel
            channel = _AsgiChannel(send, listener)
            return channel

        refused: list[int] = []

        def refuse(error: tuple[int, str], message: str | None) -> None:
            log.info("refused websocket: %s", message or error[1])
            refused.append(error[0])

        if not engine.handle_websocket(request, ConnectRequest(request, host, port, peer), accept, refuse):
            await send({"type": "websocket.close", "code": 1008})
            return
        assert channel is not None
        limit = engine.max_http_buffer_size
        while not channel.closed:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                channel.connection_lost()
                break
            data = message.get("text")
            if data is None:
                data = message.get("bytes") or b""
            if len(data) > limit:
                channel.close(1009, "message too big")
                break

            channel.listener.on_message(data)
        await channel.writer

    async def _wsgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the WSGI app in the worker pool; its response streams back through a queue.

        The worker hands over at most ``CHUNKS_IN_FLIGHT`` chunks the ASGI server has not
        sent yet, then waits (flow control: a client that reads slowly holds its stream
        back), and stops producing once the client has left.
        """
        assert self.wsgi_app is not None
        self._started()
        assert self.pool is not None
        body = await self._read_body(receive, 100 * 1024 * 1024)
        if body is None:
            await _plain(send, 413, b"Payload Too Large")
            return
        request = _request(scope)
        request.body = bytearray(body)
        host, port, peer = _addresses(scope)
        environ = build_environ(request, host, port, peer)
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        room = threading.Semaphore(CHUNKS_IN_FLIGHT)  # chunks the worker may still hand over unsent
        gone = threading.Event()  # the client left, or the response ended here: the worker stops
        app = self.wsgi_app

        def put(kind: str, value: Any = None) -> None:
            loop.call_soon_threadsafe(events.put_nowait, (kind, value))

        def put_body(data: bytes) -> None:
            room.acquire()
            if gone.is_set():
                raise ConnectionResetError("client went away")
            put("body", data)

        def run() -> None:
            def start_response(
                status: str, headers: list[tuple[str, str]], exc_info: Any = None
            ) -> Callable[[bytes], None]:
                put("start", (int(status.split(" ", 1)[0]), headers))
                return put_body

            result = None
            try:
                result = app(environ, start_response)
                for chunk in result:
                    if chunk:
                        put_body(chunk)
                put("end")
            except ConnectionResetError:
                pass  # nobody to answer
            except Exception as exc:
                log.exception("error in WSGI application for %s %s", request.method, request.path)
                put("error", exc)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

        self.pool.submit(run)
        watcher = loop.create_task(_on_disconnect(receive, lambda: events.put_nowait(("gone", None))))
        started = False
        try:
            while True:
                kind, value = await events.get()
                if kind == "start" and not started:
                    status, headers = value
                    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
                    await send({"type": "http.response.start", "status": status, "headers": raw})
                    started = True
                elif kind == "body":
                    if started:
                        await send({"type": "http.response.body", "body": value, "more_body": True})
                    room.release()
                elif kind == "end":
                    await send({"type": "http.response.body", "body": b""})
                    return
                elif kind == "error":
                    if not started:
                        await _plain(send, 500, b"Internal Server Error")
                    return
                elif kind == "gone":
                    return
        finally:
            watcher.cancel()
            gone.set()
            room.release()  # a worker waiting for room finds the response over


async def _on_disconnect(receive: Receive, then: Callable[[], None]) -> None:
    """``then()`` once the client of a request whose body has been read goes away (a task, cancelled
    when the response is over)."""
    while (await receive())["type"] != "http.disconnect":
        pass
    then()


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
