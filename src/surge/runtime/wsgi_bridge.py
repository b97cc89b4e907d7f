"""Socket.IO through any WSGI server (runtime layer): ``flask run``, ``gunicorn --threads``, ...

``SocketIO(app)`` wraps ``app.wsgi_app`` in :class:`EngineMiddleware`, as
Flask-SocketIO does: requests under the Engine.IO path are answered by Surge's
engine, which runs on its own loop thread (started at the first such request);
every other request goes to the app.  The WSGI thread hands the request to the
loop and waits for the answer (a long poll holds its thread until there is
something to send or the heartbeat is due).

WebSocket where the server gives up its socket (Werkzeug's ``werkzeug.socket``,
gunicorn's ``gunicorn.socket``, as simple-websocket uses them): a duplicate of
the socket goes to Surge's loop, which answers the handshake and runs the
WebSocket like one of its own connections.  The WSGI thread waits until the
connection ends (both servers shut a connection down once the app returns),
then shuts the socket down itself, so what the server or a middleware such as
Werkzeug's debugger writes afterwards never reaches the client.  Where there is
no socket to take (other servers, or TLS terminated by the WSGI server),
sessions are offered no upgrade, and a WebSocket request gets 400 with one
WARNING saying how to get WebSocket.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from surge.engine.constants import EioError
from surge.runtime.http import HttpProtocol
from surge.runtime.request import Request

if TYPE_CHECKING:
    from surge.runtime.server import HttpServer
    from surge.runtime.wsgi import WSGIApp

log = logging.getLogger("surge")
_adopting: set[asyncio.Task[None]] = set()

# Starts the core (offering upgrades or not); returns how to hand its loop a call
# (``call_in_loop(fn, *args)``, surge.runtime.inbox) and a server that listens nowhere.
Start = Callable[[bool], "tuple[Callable[..., None], HttpServer]"]
NO_WEBSOCKET = (
    "WebSocket is not available through this WSGI server (it gives up no socket, or terminates TLS itself): "
    "clients stay on long-polling. Serve the app with socketio.run(app), the surge command, gunicorn -k "
    "surge.workers.SurgeWorker, or flask run / gunicorn without TLS for WebSocket on the same port."
)

ONE_AT_A_TIME = (
    "This WSGI server runs one request at a time (wsgi.multithread is false): a waiting long-poll or an "
    "open WebSocket holds it and every other request waits. Run gunicorn with --threads N (a thread per "
    "client), or gunicorn -k surge.workers.SurgeWorker."
)


class EngineMiddleware:
    """Serves the Engine.IO path of a WSGI app through Surge's engine."""

    def __init__(self, app: WSGIApp, path: str, start: Start) -> None:
        self.app = app
        self.path = "/" + path.strip("/") + "/"
        self.start = start
        self._warned = False
        self._checked = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not (path.startswith(self.path) or path == self.path[:-1]):
            return self.app(environ, start_response)
        if not self._checked:
            self._checked = True
            if environ.get("wsgi.multithread") is False:
                log.warning(ONE_AT_A_TIME)
        sock = _socket(environ)
        call_in_loop, http = self.start(sock is not None)
        engine = http.engine
        request = _request(environ, engine.max_http_buffer_size)
        if request is None:
            return _answer(start_response, 413, [("Content-Type", "text/plain")], b"Payload Too Large")
        if (environ.get("HTTP_UPGRADE") or "").lower() == "websocket":
            if sock is not None and engine.allow_upgrades:
                _take_over(call_in_loop, http, sock, request, environ)
                # For the server's access log: writing this fails on the shut socket, which the
                # server takes for a client gone (Werkzeug, gunicorn: nothing else is logged).
                return _answer(start_response, 101, [], b"")
            if not self._warned:
                self._warned = True
                log.warning(NO_WEBSOCKET)
            headers, body = engine.error_answer(
                request, EioError.BAD_REQUEST, "WebSocket is not available on this server"
            )
            return _answer(start_response, 400, headers, body)
        answer = _Answer(environ)
        call_in_loop(engine.handle_request, request, answer)
        # The engine answers every poll by the next heartbeat; the margin covers a loop under load.
        if not answer.ready.wait(engine.ping_interval + engine.ping_timeout + 10):
            return _answer(start_response, 504, [("Content-Type", "text/plain")], b"Gateway Timeout")
        return _answer(start_response, answer.status, answer.headers, answer.body)


def _socket(environ: dict[str, Any]) -> socket.socket | None:
    """The client's socket, where the WSGI server gives it up and Surge can speak on it (not over TLS)."""
    sock = environ.get("werkzeug.socket") or environ.get("gunicorn.socket")
    if not isinstance(sock, socket.socket) or isinstance(sock, ssl.SSLSocket):
        return None
    return sock


def _take_over(
    call_in_loop: Callable[..., None],
    http: HttpServer,
    sock: socket.socket,
    request: Request,
    environ: dict[str, Any],
) -> None:
    """Run the WebSocket of ``request`` on Surge's loop; returns once it has ended, the socket shut down.

    The client sends nothing before the handshake's answer, so the WSGI server
    has read exactly the request and the socket holds only what comes after.
    """
    ended = threading.Event()
    own = sock.dup()  # the loop closes its own descriptor; the WSGI server closes the other
    own.setblocking(False)

    async def adopt() -> None:
        try:
            _, proto = await http.loop.connect_accepted_socket(lambda: HttpProtocol(http, _Origin(environ, ended)), own)
        except OSError:
            own.close()
            ended.set()
            return
        if not proto.closed:
            proto.upgrade(request)

    def start_adopting() -> None:
        task = http.loop.create_task(adopt())
        _adopting.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(_adopting.discard)

    call_in_loop(start_adopting)
    ended.wait()
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Origin:
    """The WSGI server a connection was taken over from: its environ, and who waits for the end."""

    __slots__ = ("_ended", "environ")

    def __init__(self, environ: dict[str, Any], ended: threading.Event) -> None:
        self.environ = environ
        self._ended = ended

    def ended(self) -> None:
        self._ended.set()


class _Answer:
    """The engine's answer to one request, handed from the loop thread to the waiting WSGI thread."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ
        self.ready = threading.Event()
        self.status = 500
        self.headers: list[tuple[str, str]] = []
        self.body = b""

    def respond(self, request: Request, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None:
        self.status, self.headers, self.body = status, headers, body
        self.ready.set()

    def on_lost(self, callback: Callable[[], None]) -> None:
        pass  # a WSGI server does not tell when its client went away

    def environ(self, request: Request) -> dict[str, Any]:
        return self._environ

    def session_environ(self, request: Request) -> dict[str, Any]:
        return self._environ


def _request(environ: dict[str, Any], limit: int) -> Request | None:
    """The engine's view of a WSGI request; None when its body is over ``limit``."""
    request = Request()
    request.method = environ.get("REQUEST_METHOD", "GET")
    request.path = environ.get("PATH_INFO", "/")
    request.query = environ.get("QUERY_STRING", "")
    request.raw_path = (request.path + ("?" + request.query if request.query else "")).encode("latin-1")
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), value))
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            headers.append((name, environ[key]))
    request.headers = headers
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        if int(length) > limit:
            return None
        request.body = bytearray(environ["wsgi.input"].read(int(length)))
    return request


def _answer(
    start_response: Callable[..., Any], status: int, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    start_response(f"{status} {HTTPStatus(status).phrase}", [*headers, ("Content-Length", str(len(body)))])
    return [body]
