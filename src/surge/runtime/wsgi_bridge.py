"""Socket.IO through any WSGI server (runtime layer): ``flask run``, ``gunicorn --threads``, ...

``SocketIO(app)`` wraps ``app.wsgi_app`` in :class:`EngineMiddleware`, as
Flask-SocketIO does: requests under the Engine.IO path are answered by Surge's
engine, which runs on its own loop thread (started at the first such request);
every other request goes to the app.  The WSGI thread hands the request to the
loop and waits for the answer (a long poll holds its thread until there is
something to send or the heartbeat is due).  Long-polling only: WSGI has no
portable way to take over the connection for a WebSocket, so sessions served
this way are offered no upgrade, and a WebSocket request gets 400 (with one
WARNING saying how to get WebSocket).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from surge.runtime.engine import BAD_REQUEST
from surge.runtime.request import Request

if TYPE_CHECKING:
    import asyncio

    from surge.runtime.engine import EngineServer
    from surge.runtime.wsgi import WSGIApp

log = logging.getLogger("surge")

Start = Callable[[], "tuple[asyncio.AbstractEventLoop, EngineServer]"]
NO_WEBSOCKET = (
    "WebSocket is not available through this WSGI server: clients stay on long-polling. "
    "Serve the app with socketio.run(app) or the surge command for WebSocket on the same port."
)


class EngineMiddleware:
    """Serves the Engine.IO path of a WSGI app through Surge's engine."""

    def __init__(self, app: WSGIApp, path: str, start: Start) -> None:
        self.app = app
        self.path = "/" + path.strip("/") + "/"
        self.start = start
        self._warned = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not (path.startswith(self.path) or path == self.path[:-1]):
            return self.app(environ, start_response)
        loop, engine = self.start()
        request = _request(environ, engine.max_http_buffer_size)
        if request is None:
            return _answer(start_response, 413, [("Content-Type", "text/plain")], b"Payload Too Large")
        if (environ.get("HTTP_UPGRADE") or "").lower() == "websocket":
            if not self._warned:
                self._warned = True
                log.warning(NO_WEBSOCKET)
            headers, body = engine.error_answer(request, BAD_REQUEST, "WebSocket is not available on this server")
            return _answer(start_response, 400, headers, body)
        answer = _Answer(environ)
        loop.call_soon_threadsafe(engine.handle_request, request, answer)
        # The engine answers every poll by the next heartbeat; the margin covers a loop under load.
        if not answer.ready.wait(engine.ping_interval + engine.ping_timeout + 10):
            return _answer(start_response, 504, [("Content-Type", "text/plain")], b"Gateway Timeout")
        return _answer(start_response, answer.status, answer.headers, answer.body)


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
