"""A raw Engine.IO server: messages in and out, no Socket.IO layer, at a path of your choice.

For clients that speak Engine.IO directly (``engine.io-client``, python-engineio's
client).  It runs on the same built-in server as :class:`surge.SocketIO`, with
the same transports, heartbeat and limits::

    eio = EngineIO(path="/engine.io")

    @eio.on("message")
    def message(sid, data):
        eio.send(sid, data)          # echo

    eio.run(host="127.0.0.1", port=5000)

Handlers: ``connect(sid, environ)`` (return ``False`` to refuse),
``message(sid, data)`` (data is ``str`` or ``bytes``), ``disconnect(sid, reason)``.
``def`` handlers run in the worker pool, ``async def`` handlers on the event loop.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Callable
from typing import Any

from surge.engine.constants import Transport
from surge.runtime.cors import Origins
from surge.runtime.engine import EngineConnection, EngineServer
from surge.runtime.inbox import LoopInbox
from surge.runtime.pool import WorkerPool
from surge.runtime.server import HttpServer, new_event_loop, serve
from surge.runtime.wsgi import WSGIApp, WsgiRunner

log = logging.getLogger("surge.engineio")

Handler = Callable[..., Any]
EVENTS = ("connect", "message", "disconnect")


class EngineIO:
    """A raw Engine.IO server (protocol v3 and v4)."""

    def __init__(
        self,
        path: str = "engine.io",
        *,
        ping_interval: float = 25,
        ping_timeout: float = 20,
        max_http_buffer_size: int = 1_000_000,
        cors_allowed_origins: Origins = None,
        transports: tuple[str, ...] = tuple(Transport),
        allow_upgrades: bool = True,
        max_workers: int = 1000,
    ) -> None:
        self.path = path
        self.options: dict[str, Any] = {
            "ping_interval": ping_interval,
            "ping_timeout": ping_timeout,
            "max_http_buffer_size": max_http_buffer_size,
            "cors_allowed_origins": cors_allowed_origins,
            "transports": transports,
            "allow_upgrades": allow_upgrades,
        }
        self.max_workers = max_workers
        self.handlers: dict[str, Handler] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pool: WorkerPool | None = None
        self._inbox: LoopInbox | None = None  # calls from other threads for the loop thread
        self.connections: dict[str, EngineConnection] = {}
        self._stop: asyncio.Event | None = None

    def on(self, event: str, handler: Handler | None = None) -> Any:
        """Register a handler for ``connect``, ``message`` or ``disconnect`` (also as a decorator)."""
        if event not in EVENTS:
            raise ValueError(f"unknown Engine.IO event {event!r}; use one of {', '.join(EVENTS)}")

        def register(fn: Handler) -> Handler:
            self.handlers[event] = fn
            return fn

        return register(handler) if handler is not None else register

    # -- sending (any thread) ----------------------------------------------------------

    def send(self, sid: str, data: str | bytes) -> None:
        """Send one message to client ``sid``."""
        self._in_loop(self._send, sid, data)

    def disconnect(self, sid: str) -> None:
        """Close the connection of client ``sid``."""
        self._in_loop(self._disconnect, sid)

    def _send(self, sid: str, data: str | bytes) -> None:
        conn = self.connections.get(sid)
        if conn is not None:
            conn.send(data)

    def _disconnect(self, sid: str) -> None:
        conn = self.connections.get(sid)
        if conn is not None:
            conn.close()

    def _in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        inbox = self._inbox
        if inbox is None:
            raise RuntimeError("the Engine.IO server is not running")
        inbox.put(fn, args)

    # -- the EngineApp interface (loop thread) -----------------------------------------------

    def engine_connected(self, conn: EngineConnection) -> None:
        self.connections[conn.sid] = conn

        def refused(result: Any) -> None:
            if result is False:
                conn.close()

        self._dispatch("connect", (conn.sid, conn.environ), refused)

    def engine_message(self, conn: EngineConnection, data: str | bytes) -> None:
        self._dispatch("message", (conn.sid, data))

    def engine_closed(self, conn: EngineConnection, reason: str) -> None:
        self.connections.pop(conn.sid, None)
        self._dispatch("disconnect", (conn.sid, reason))

    def engine_upgraded(self, conn: EngineConnection) -> None:
        pass

    def _dispatch(self, event: str, args: tuple[Any, ...], then: Callable[[Any], Any] | None = None) -> None:
        handler = self.handlers.get(event)
        if handler is None:
            return
        loop, pool = self.loop, self.pool
        assert loop is not None and pool is not None
        if inspect.iscoroutinefunction(handler):

            async def run_async() -> None:
                try:
                    result = await handler(*args)
                except Exception:
                    log.exception("error in the %s handler (sid %s)", event, args[0])
                    return
                if then is not None:
                    then(result)

            loop.create_task(run_async())
            return

        def run() -> None:
            try:
                result = handler(*args)
            except Exception:
                log.exception("error in the %s handler (sid %s)", event, args[0])
                return
            if then is not None:
                self._in_loop(then, result)

        pool.submit(run)

    # -- running --------------------------------------------------------------------------

    def run(self, wsgi_app: WSGIApp | None = None, host: str = "127.0.0.1", port: int = 5000) -> None:
        """Serve Engine.IO (and ``wsgi_app`` on every other path) until Ctrl-C or :meth:`stop`."""
        loop = self.loop = new_event_loop()
        pool = self.pool = WorkerPool(max_workers=self.max_workers)
        inbox = self._inbox = LoopInbox(loop)
        engine = EngineServer(self, loop, **self.options)
        http = HttpServer(
            loop, engine, WsgiRunner(wsgi_app, pool, inbox) if wsgi_app else None, path=self.path, host=host, port=port
        )
        self._stop = asyncio.Event()

        def started(server: HttpServer) -> None:
            print(
                f" * Surge Engine.IO server on http://{server.host}:{server.port}/{self.path.strip('/')}/",
                file=sys.stderr,
                flush=True,
            )

        try:
            serve(loop, http, on_started=started, stop_event=self._stop)
        finally:
            pool.shutdown()
            loop.close()
            self.loop = self._inbox = None

    def stop(self) -> None:
        """Stop the server started by :meth:`run`, from any thread."""
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)


__all__ = ["EngineIO"]
