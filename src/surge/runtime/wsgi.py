"""Run a WSGI application (the Flask routes) in the worker pool (runtime layer).

PEP 3333: the environ is built on the loop, the app runs in a worker thread,
and every chunk of the response is handed to the loop as it is produced, so a
streamed response reaches the client while the app still produces it.  The
worker hands chunks over without waiting for the loop (through the loop's
inbox, one wake-up per batch), and waits for the transport's buffer to drain
once every ``UNCHECKED_BYTES`` (flow control): a page or a static file is one
hand-over of its head and body, and one of its end.  It used to wait for the
loop at every chunk, the head included (10 keep-alive clients, pure build,
median of 3: a 5-byte page 3.9k -> 6.6k requests/s, Flask's static
socket.io.min.js, 46 KiB, 1.6k -> 2.7k).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from surge.runtime.request import Request

if TYPE_CHECKING:
    from surge.runtime.inbox import LoopInbox
    from surge.runtime.pool import WorkerPool

log = logging.getLogger("surge.wsgi")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
NO_BODY_STATUSES = (204, 304)
# Bytes of a response handed to the loop before the worker waits for the client to take them:
# more than a page or a static file, which so never wait; a stream's backlog beyond the
# transport's buffer stays this small.
UNCHECKED_BYTES = 256 * 1024


class Connection(Protocol):
    """The HTTP connection a WSGI response streams to (the built-in server's)."""

    closed: bool

    def environ(self, request: Request) -> dict[str, Any]: ...

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...

    def finish_streamed(self, keep_alive: bool) -> None: ...


class WsgiRunner:
    """Runs one WSGI request per call of :meth:`run` on the loop thread."""

    def __init__(self, app: WSGIApp, pool: WorkerPool, inbox: LoopInbox) -> None:
        self.app = app
        self.pool = pool
        self.inbox = inbox

    def run(self, request: Request, proto: Connection) -> None:
        environ = proto.environ(request)
        self.pool.submit(self._call_app, environ, request, proto)

    def _call_app(self, environ: dict[str, Any], request: Request, proto: Connection) -> None:
        inbox = self.inbox
        state: dict[str, Any] = {"head": None, "sent": False, "chunked": False, "length": None, "unchecked": 0}
        head_only = request.method == "HEAD"
        keep_alive = request.keep_alive

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and state["sent"]:
                raise exc_info[1].with_traceback(exc_info[2])
            state["head"] = (status, headers)
            return write

        def head() -> bytes:
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
            return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

        def emit(data: bytes) -> None:
            if proto.closed:
                raise ConnectionResetError("client went away")
            inbox.put(proto.write, (data,))
            state["unchecked"] += len(data)
            if state["unchecked"] > UNCHECKED_BYTES:
                state["unchecked"] = 0
                drained = threading.Event()
                inbox.put(_when_drained, (proto, drained.set))  # after the writes before it
                drained.wait()

        def write(data: bytes) -> None:
            start = b"" if state["sent"] else head()
            if data and not head_only:
                data = b"%x\r\n%s\r\n" % (len(data), data) if state["chunked"] else data
                emit(start + data)
            elif start:
                emit(start)

        result: Iterable[bytes] | None = None
        try:
            result = self.app(environ, start_response)
            for chunk in result:
                if chunk:
                    write(chunk)
            if not state["sent"]:
                emit(head())
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
        inbox.put(proto.finish_streamed, (done_keep_alive,))


def _when_drained(proto: Connection, then: Callable[[], None]) -> None:
    """On the loop: ``then()`` once ``proto``'s buffer is below its high-water mark (or it closed)."""

    async def drained() -> None:
        try:
            await proto.drain()
        finally:
            then()

    task = asyncio.get_running_loop().create_task(drained())
    _draining.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(_draining.discard)


_draining: set[asyncio.Task[None]] = set()
