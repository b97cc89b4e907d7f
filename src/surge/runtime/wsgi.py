"""Run a WSGI application (the Flask routes) in the worker pool (runtime layer).

PEP 3333: the environ is built on the loop, the app runs in a worker thread,
and every chunk of the response is handed to the loop as it is produced, so a
streamed response reaches the client while the app still produces it.  The
worker waits while the transport's buffer is full (flow control).
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from surge.runtime.http import HttpProtocol, Request
    from surge.runtime.pool import WorkerPool

log = logging.getLogger("surge.wsgi")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
NO_BODY_STATUSES = (204, 304)


def build_environ(request: Request, host: str, port: int, peer: tuple[str, int]) -> dict[str, Any]:
    """A PEP 3333 environ for ``request``, received on ``host:port`` from ``peer``."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(request.path, encoding="latin-1"),
        "QUERY_STRING": request.query,
        "RAW_URI": request.raw_path.decode("latin-1"),
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": f"HTTP/{request.version}",
        "REMOTE_ADDR": peer[0],
        "REMOTE_PORT": str(peer[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(bytes(request.body)),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers:
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name == "content-length":
            environ["CONTENT_LENGTH"] = value
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = environ[key] + "," + value if key in environ else value
    return environ


class WsgiRunner:
    """Runs one WSGI request per call of :meth:`run` on the loop thread."""

    def __init__(self, app: WSGIApp, loop: asyncio.AbstractEventLoop, pool: WorkerPool) -> None:
        self.app = app
        self.loop = loop
        self.pool = pool

    def run(self, request: Request, proto: HttpProtocol) -> None:
        environ = build_environ(request, proto.server.host, proto.server.port, proto.peer)
        self.pool.submit(self._call_app, environ, request, proto)

    def _call_app(self, environ: dict[str, Any], request: Request, proto: HttpProtocol) -> None:
        loop = self.loop
        state: dict[str, Any] = {"head": None, "sent": False, "chunked": False, "length": None}
        head_only = request.method == "HEAD"
        keep_alive = request.keep_alive

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["head"] = (status, headers)
            return write

        def send_head() -> None:
            status, headers = state["head"]
            code = int(status.split(" ", 1)[0])
            lines = [f"HTTP/1.1 {status}"]
            for name, value in headers:
                if name.lower() == "content-length":
                    state["length"] = int(value)
                lines.append(f"{name}: {value}")
            if state["length"] is None and code not in NO_BODY_STATUSES and not head_only:
                if request.version == "1.1":
                    state["chunked"] = True
                    lines.append("Transfer-Encoding: chunked")
                else:
                    state["keep_alive"] = False
            if not state.get("keep_alive", keep_alive):
                lines.append("Connection: close")
            state["sent"] = True
            emit(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

        def emit(data: bytes) -> None:
            if proto.closed:
                raise ConnectionResetError("client went away")
            asyncio.run_coroutine_threadsafe(_write(proto, data), loop).result()

        def write(data: bytes) -> None:
            if not state["sent"]:
                send_head()
            if data and not head_only:
                emit(b"%x\r\n%s\r\n" % (len(data), data) if state["chunked"] else data)

        result: Iterable[bytes] | None = None
        try:
            result = self.app(environ, start_response)
            for chunk in result:
                if chunk:
                    write(chunk)
            if not state["sent"]:
                send_head()
            if state["chunked"]:
                emit(b"0\r\n\r\n")
            done_keep_alive = bool(state.get("keep_alive", keep_alive))
        except ConnectionResetError:
            done_keep_alive = False
        except Exception:
            log.exception("error in WSGI application for %s %s", request.method, request.path)
            if not state["sent"]:
                emit(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 21\r\nConnection: close\r\n\r\nInternal Server Error"
                )
            done_keep_alive = False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        loop.call_soon_threadsafe(proto.finish_streamed, done_keep_alive)


async def _write(proto: HttpProtocol, data: bytes) -> None:
    proto.write(data)
    await proto.drain()
