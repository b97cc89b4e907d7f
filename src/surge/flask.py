"""The Flask-SocketIO-compatible front: ``SocketIO`` and the context functions (``Namespace``: surge.namespace).

An app written for Flask-SocketIO runs after changing its import to
``from surge import ...``.  Handlers run inside a Flask request context built
from the connect request, with ``request.sid``, ``request.namespace`` and
``request.event`` set.  ``def`` handlers run in the elastic worker pool, ``async
def`` handlers on the event loop (eagerly: a Task only once they wait); the kind
is decided once, when the handler is registered.

``SocketIO`` is the Flask-SocketIO face only: registration goes to a
:class:`~surge.dispatch.Registry`, everything that runs to a
:class:`~surge.core.ServerCore` (loop, pool, engine, cluster, queue).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flask

from surge import options as options_module
from surge.client_js import MISSING as MISSING_CLIENT_JS
from surge.client_js import find_client_js
from surge.core import ServerCore, event_args, skip_list
from surge.dispatch import EmitterCallback, Registry
from surge.engine.constants import Reason
from surge.facade import ASYNC_MODE, ServerFacade, describe_queue
from surge.flask_context import current_call
from surge.handlers import Handler
from surge.namespace import Namespace
from surge.options import resolve as resolve_options
from surge.queue.messages import ENTER_ROOM, LEAVE_ROOM, Kind
from surge.runtime.asgi import AsgiApp
from surge.runtime.engine import EngineServer
from surge.runtime.pool import WorkerPool
from surge.runtime.server import HttpServer
from surge.runtime.wsgi_bridge import EngineMiddleware
from surge.server.recovery import Recovery

if TYPE_CHECKING:
    import socket
    from ssl import SSLContext

    from surge.admin import Admin
    from surge.test_client import SocketIOTestClient

log = logging.getLogger("surge")


class SocketIO:
    """Create a Socket.IO server for a Flask application, as Flask-SocketIO does."""

    reason = Reason
    async_mode = ASYNC_MODE  # Flask-SocketIO's templates show it; Surge's model is threads plus one loop

    def __init__(self, app: flask.Flask | None = None, **options: Any) -> None:
        self._given: dict[str, Any] = dict(options)  # as passed; init_app merges the app's config under them
        self.registry = Registry()
        self.namespace_handlers: list[Namespace] = []
        self.app: flask.Flask | None = None
        self._facade: ServerFacade | None = None
        if app is not None:
            self.init_app(app)
        else:
            # A write-only emitter (message_queue, no app) or an app factory's: checked now, warned once.
            self.server_options = resolve_options({}, self._given, warn="message_queue" in options)
            describe_queue(self.server_options, write_only=True)
            self.core = ServerCore(None, self.server_options, self.registry)

    def init_app(self, app: flask.Flask, **options: Any) -> None:
        """Bind to ``app`` (application factories); ``SOCKETIO_*`` config keys are read too."""
        config = getattr(app, "config", {})  # a plain WSGI app has none
        self._given.update(options)
        merged = self.server_options = resolve_options(config, self._given)
        describe_queue(merged, write_only=app is None)
        self.app = app
        if isinstance(app, flask.Flask):
            app.extensions["socketio"] = self
        namespaces = merged["namespaces"]
        self.registry.table.extra_namespaces = None if namespaces == "*" else frozenset(namespaces or ())
        options_module.apply_loggers(merged["logger"], merged["engineio_logger"])
        self.core = ServerCore(app, merged, self.registry)
        self._facade = None
        if isinstance(app, flask.Flask):
            self._wrap_wsgi_app(app)

    def _wrap_wsgi_app(self, app: flask.Flask) -> None:
        """As Flask-SocketIO: any WSGI server (flask run, gunicorn) serves Socket.IO through
        app.wsgi_app; socketio.run and ASGI route the Engine.IO path before it.  Metrics and
        the Admin UI's files are answered there too, so every way of starting the app has them."""
        inner: Any = app.wsgi_app
        if isinstance(inner, EngineMiddleware):
            inner = inner.app
        while (nested := getattr(inner, "inner_app", None)) is not None:
            inner = nested  # the layers of an earlier init_app or instrument()
        if self.core.metrics is not None:
            from surge.metrics import MetricsMiddleware

            inner = MetricsMiddleware(inner, self.core.metrics)
        if self.registry.admin is not None:
            inner = self.registry.admin.middleware(inner, self.server_options["path"])
        app.wsgi_app = EngineMiddleware(inner, self.server_options["path"], self.core.wsgi_bridge)  # type: ignore[method-assign]

    @property
    def exception_handlers(self) -> dict[str, Handler]:
        """The ``on_error`` handlers by namespace (as Flask-SocketIO's attribute)."""
        return self.registry.exception_handlers

    @property
    def default_exception_handler(self) -> Handler | None:
        return self.registry.default_exception_handler

    @default_exception_handler.setter
    def default_exception_handler(self, handler: Handler | None) -> None:
        self.registry.default_exception_handler = handler

    # -- registration ------------------------------------------------------------------

    def on(self, message: str, namespace: str | None = None) -> Callable[[Handler], Handler]:
        """Decorator: register a handler for event ``message`` (``'*'`` catches all)."""

        def decorator(handler: Handler) -> Handler:
            self.on_event(message, handler, namespace)
            return handler

        return decorator

    def on_event(self, message: str, handler: Handler, namespace: str | None = None) -> None:
        """Register ``handler`` for event ``message`` without a decorator."""
        self.registry.table.add(namespace or "/", message, handler)

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """Decorator: register a handler named after the function."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            handler = args[0]
            self.on_event(handler.__name__, handler)
            return handler

        def decorator(handler: Handler) -> Handler:
            self.on_event(handler.__name__, handler, kwargs.get("namespace"))
            return handler

        return decorator

    def on_error(self, namespace: str | None = None) -> Callable[[Handler], Handler]:
        """Decorator: handle exceptions raised by the handlers of ``namespace``."""

        def decorator(handler: Handler) -> Handler:
            if not callable(handler):
                raise ValueError("exception_handler must be callable")
            self.exception_handlers[namespace or "/"] = handler
            return handler

        return decorator

    def on_error_default(self, handler: Handler) -> Handler:
        """Decorator: handle exceptions of namespaces without their own handler."""
        if not callable(handler):
            raise ValueError("exception_handler must be callable")
        self.default_exception_handler = handler
        return handler

    def on_namespace(self, namespace_handler: Namespace) -> None:
        """Register a class-based :class:`Namespace`."""
        if not isinstance(namespace_handler, Namespace):
            raise ValueError("Not a namespace instance.")
        namespace_handler._set_socketio(self)
        self.namespace_handlers.append(namespace_handler)
        overridden = type(namespace_handler).trigger_event is not Namespace.trigger_event
        self.registry.table.add_class(namespace_handler, overridden)

    @property
    def manage_session(self) -> bool:
        """Whether handlers share a copy of the Flask session (``manage_session``); settable, as in
        Flask-SocketIO: a client's first handler after a change decides for it."""
        return bool(self.server_options["manage_session"])

    @manage_session.setter
    def manage_session(self, value: bool) -> None:
        self.server_options["manage_session"] = value

    # -- the server behind it ---------------------------------------------------------------

    @property
    def server(self) -> ServerFacade:
        """python-socketio's ``Server`` API, for what apps reach through ``socketio.server`` (see surge.facade)."""
        if self._facade is None:
            self._facade = ServerFacade(self.core, self.instrument)
        return self._facade

    def metrics_app(self) -> Any:
        """A WSGI app answering with the Prometheus metrics, to mount where you like (``metrics=True``)."""
        if self.core.metrics is None:
            raise ValueError("metrics_app() needs SocketIO(app, metrics=True)")
        return self.core.metrics

    def instrument(self, auth: Any = None, **options: Any) -> Admin:
        """Report to the official Socket.IO Admin UI and serve it at ``/admin/`` (options: surge.admin.Admin)."""
        from surge.admin import Admin

        if self.registry.admin is not None:
            raise RuntimeError("instrument() was called already")
        admin = self.registry.admin = Admin(self, auth, **options)
        if isinstance(self.app, flask.Flask):
            self._wrap_wsgi_app(self.app)
        return admin

    @property
    def recovered(self) -> bool:
        """Whether the client of the handler running now came back by connection state recovery
        (``connection_state_recovery=``): same sid and rooms, the events it missed replayed."""
        sio = self.core.sio
        socket = sio.sockets.get(getattr(flask.request, "sid", "")) if sio is not None else None
        return socket is not None and socket.recovered

    # -- the public API ---------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Emit to all clients of a namespace, or to ``to``/``room``."""
        namespace = kwargs.pop("namespace", None) or "/"
        room = kwargs.pop("room", None)
        to = kwargs.pop("to", None) or room
        include_self = kwargs.pop("include_self", True)
        skip = skip_list(kwargs.pop("skip_sid", None))
        call = current_call()
        request: Any = call[1] if call is not None else None
        sid = getattr(request, "sid", None)
        if not include_self and not skip:  # as in Flask-SocketIO, include_self=False only when no skip_sid is given
            if sid is None:
                raise RuntimeError("include_self=False needs the client of a Socket.IO handler to leave out")
            skip.append(sid)
        callback = kwargs.pop("callback", None)
        kwargs.pop("ignore_queue", None)  # every emit goes through the cluster; the queue only where needed
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
        if callback is not None and sid is not None:
            callback = EmitterCallback(callback, sid, request.namespace)
        self.core.emit(event, event_args(args), namespace, to, skip, callback)

    def send(
        self,
        data: Any,
        json: bool = False,
        namespace: str | None = None,
        to: Any = None,
        callback: Handler | None = None,
        include_self: bool = True,
        skip_sid: Any = None,
        **kwargs: Any,
    ) -> None:
        """Send a ``message`` (or ``json``) event.

        As in Flask-SocketIO, ``include_self=False`` leaves out the handler's client whatever
        ``skip_sid`` says, and other keywords go on to :meth:`emit`.
        """
        to = to or kwargs.pop("room", None)
        if not include_self:
            call = current_call()
            skip_sid = getattr(call[1], "sid", None) if call is not None else None
            if skip_sid is None:
                raise RuntimeError("include_self=False needs the client of a Socket.IO handler to leave out")
        event = "json" if json else "message"
        self.emit(event, data, namespace=namespace, to=to, callback=callback, skip_sid=skip_sid, **kwargs)

    def call(
        self,
        event: str,
        *args: Any,
        to: str | None = None,
        sid: str | None = None,
        namespace: str | None = None,
        timeout: float = 60,
        **kwargs: Any,
    ) -> Any:
        """Emit to one client and wait for its ack; returns the ack's argument(s).

        Raises ``TimeoutError`` when no answer comes within ``timeout`` seconds and
        :class:`~surge.errors.DisconnectedError` at once if the client goes away.
        """
        to = to or sid or kwargs.pop("room", None)
        kwargs.pop("ignore_queue", None)
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
        if to is None:
            raise ValueError("call() needs the sid of one client in to=")
        return self.core.call(event, event_args(args), namespace or "/", to, timeout)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Remove every client from ``room`` (on every process, with a message queue)."""
        self.core.room_operation(Kind.CLOSE_ROOM, namespace or "/", room=room)

    # -- cluster-wide operations (every process, with a message queue) ----------------------------

    def sockets_join(self, room: str, to: str | list[str] | None = None, namespace: str | None = None) -> None:
        """Put every client in ``to`` (a room, rooms, or None for all) in ``room``, on every process."""
        self.core.sockets_operation(Kind.SOCKETS_JOIN, namespace or "/", to, room)

    def sockets_leave(self, room: str, to: str | list[str] | None = None, namespace: str | None = None) -> None:
        """Take every client in ``to`` out of ``room``, on every process."""
        self.core.sockets_operation(Kind.SOCKETS_LEAVE, namespace or "/", to, room)

    def disconnect_sockets(self, to: str | list[str] | None = None, namespace: str | None = None) -> None:
        """Disconnect every client in ``to``, on every process."""
        self.core.sockets_operation(Kind.DISCONNECT_SOCKETS, namespace or "/", to)

    def fetch_sockets(
        self, to: str | list[str] | None = None, namespace: str | None = None, timeout: float = 5
    ) -> list[dict[str, Any]]:
        """The clients in ``to`` on every process, as ``{"sid", "rooms"}``; waits for every process's answer.

        Blocks; call it from a ``def`` handler or a thread (``await fetch_sockets_async`` on the loop).
        """
        return self.core.fetch_sockets(to, namespace or "/", timeout)

    async def fetch_sockets_async(
        self, to: str | list[str] | None = None, namespace: str | None = None, timeout: float = 5
    ) -> list[dict[str, Any]]:
        """:meth:`fetch_sockets` for ``async def`` code on the loop."""
        return await self.core.fetch_sockets_async(to, namespace or "/", timeout)

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread | None:
        """Run ``target`` in a daemon thread (``async def`` targets run on the loop)."""
        return self.core.start_background_task(target, *args, **kwargs)

    def sleep(self, seconds: float = 0) -> None:
        """Sleep without blocking other clients (a plain sleep: handlers have their own threads)."""
        time.sleep(seconds)

    def run(
        self,
        app: flask.Flask | None = None,
        host: str | None = None,
        port: int | None = None,
        *,
        debug: bool | None = None,
        use_reloader: bool | None = None,
        reloader_options: dict[str, Any] | None = None,
        log_output: bool | None = None,
        allow_unsafe_werkzeug: bool = False,
        **kwargs: Any,
    ) -> None:
        """Serve the Flask app and Socket.IO on one port until Ctrl-C.

        ``debug=True`` turns on Flask's debug mode and its in-browser debugger for
        the HTTP routes, and (unless ``use_reloader=False``) restarts the server
        when a source file changes, as Flask-SocketIO does.
        ``allow_unsafe_werkzeug`` is accepted for compatibility and not needed:
        Surge's server is not Werkzeug's development server.  ``workers=N`` (or
        ``"auto"``: one per core) serves the port from N processes acting as one
        server (surge.supervisor); ``worker_timeout`` (30 s) is how long a worker's
        event loop may be blocked before it is replaced.
        """
        app = app or self.app
        if app is None:
            raise ValueError("run() needs the Flask app")
        if self.app is None:
            self.init_app(app)
        tls = options_module.tls_context(
            kwargs.pop("certfile", None), kwargs.pop("keyfile", None), kwargs.pop("ssl_context", None)
        )
        workers = options_module.workers(kwargs.pop("workers", None))
        worker_timeout = float(kwargs.pop("worker_timeout", 30))
        if kwargs:
            log.warning("run(): ignoring options %s", ", ".join(sorted(kwargs)))
        config = getattr(app, "config", {})
        server_name = config.get("SERVER_NAME")
        default_port = int(server_name.rsplit(":", 1)[1]) if server_name and ":" in server_name else 5000
        host = host or "127.0.0.1"
        port = port or default_port
        if debug is None:
            debug = bool(getattr(app, "debug", False))
        if debug and isinstance(app, flask.Flask):
            app.debug = True
        if use_reloader is None:
            use_reloader = debug
        if not logging.getLogger().handlers:
            logging.basicConfig(
                level=logging.INFO if log_output or debug else logging.WARNING,
                format="%(asctime)s %(name)s %(levelname)s %(message)s",
            )

        def started(server: HttpServer) -> None:
            print(
                f" * Surge serving {getattr(app, 'name', 'app')!r} on {server.scheme}://{server.host}:{server.port}"
                " (Ctrl-C to quit)",
                file=sys.stderr,
                flush=True,
            )

        def main() -> None:
            try:
                self.serve(app, host, port, on_started=started, debugger=debug, ssl=tls)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise SystemExit(  # one sentence, as Flask-SocketIO's (Werkzeug's) server says it
                    f"Port {port} on {host} is in use by another program: stop that program, or run the"
                    " server on another port (socketio.run(app, port=...), or surge --port)."
                ) from None

        if workers > 1:
            if tls is not None or use_reloader:
                raise ValueError("run(workers=N) serves neither TLS (terminate it in front) nor the reloader")
            self._supervise(app, host, port, workers, worker_timeout)
            return
        if use_reloader:
            from werkzeug._reloader import run_with_reloader  # what Flask's own reloader runs

            run_with_reloader(main, **(reloader_options or {}))
        else:
            main()

    def _supervise(self, app: flask.Flask, host: str, port: int, workers: int, timeout: float) -> None:
        """Fork ``workers`` processes serving one port, and keep them running (surge.supervisor)."""
        from surge.queue.sequencer import Sequencer
        from surge.supervisor import Supervisor, WorkerSlot, listeners

        bound = listeners(host, port, workers)
        recovery = options_module.recovery(self.server_options["connection_state_recovery"])
        sequencer = None
        if recovery is not None and not self.server_options["message_queue"]:  # the supervisor orders the bus
            defaults = Recovery(time.monotonic, **recovery)
            sequencer = Sequencer(defaults.max_disconnection_duration, defaults.max_buffer_size, time.monotonic)

        def serve(slot: WorkerSlot) -> None:
            self.core.worker = slot
            assert slot.listener is not None
            self.serve(app, host, port, sockets=[slot.listener])

        print(
            f" * Surge serving {getattr(app, 'name', 'app')!r} on http://{host}:{bound[0].getsockname()[1]}"
            f" with {workers} workers (Ctrl-C to quit)",
            file=sys.stderr,
            flush=True,
        )
        Supervisor(bound, serve, timeout, sequencer).run()

    def serve(
        self,
        app: flask.Flask,
        host: str,
        port: int,
        on_started: Callable[[HttpServer], None] | None = None,
        debugger: bool = False,
        ssl: SSLContext | None = None,
        sockets: list[socket.socket] | None = None,
    ) -> None:
        """Run the built-in server in this thread until :meth:`stop` or a signal (HTTPS and WSS with ``ssl``;
        on listening ``sockets`` instead of ``host:port`` when given, as gunicorn's worker does)."""
        client_js = find_client_js(
            self.server_options["client_js"], os.getcwd(), getattr(app, "root_path", os.getcwd())
        )
        worker = self.core.worker
        if client_js is None and (worker is None or worker.index == 0):  # said once for the workers
            log.warning(MISSING_CLIENT_JS)
        wsgi_app = getattr(app, "wsgi_app", app)
        if debugger:
            from werkzeug.debug import DebuggedApplication

            wsgi_app = DebuggedApplication(wsgi_app, evalex=True)
        self.core.serve(wsgi_app, host, port, client_js, on_started, ssl, sockets)

    def asgi_app(self, other_asgi_app: Any = None) -> AsgiApp:
        """An ASGI application for uvicorn, hypercorn and the like (the slower path; see the docs).

        Socket.IO is served under ``path``; other requests go to ``other_asgi_app``
        when given, else to the Flask app's routes (run in the worker pool).
        """
        if self.app is None:
            raise ValueError("asgi_app() needs SocketIO(app) or init_app(app) first")
        wsgi = getattr(self.app, "wsgi_app", None)
        core = self.core

        def start(loop: asyncio.AbstractEventLoop) -> tuple[EngineServer, WorkerPool]:
            engine = core.start(loop)
            assert core.pool is not None
            return engine, core.pool

        return AsgiApp(start, self.server_options["path"], wsgi, other_asgi_app)

    def test_client(
        self,
        app: flask.Flask,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        flask_test_client: Any = None,
    ) -> SocketIOTestClient:
        """A client for tests that drives this server in-process (see :mod:`surge.test_client`)."""
        from surge.test_client import SocketIOTestClient

        if self.app is None:
            self.init_app(app)  # as run(app) does for a SocketIO made without one

        return SocketIOTestClient(app, self, namespace, query_string, headers, auth, flask_test_client)

    def stop(self) -> None:
        """Stop the server started by :meth:`run` (from a handler or another thread)."""
        self.core.stop()


# -- the context functions (inside handlers) ---------------------------------------------


def _current() -> tuple[SocketIO, str, str]:
    call = current_call()
    if call is None or getattr(call[1], "sid", None) is None:  # no request context, or a Flask route's
        raise RuntimeError("this function works only inside a Socket.IO handler")
    app, request = call
    socketio: SocketIO = app.extensions["socketio"]
    return socketio, request.sid, request.namespace


def emit(event: str, *args: Any, **kwargs: Any) -> None:
    """Emit from a handler: to the sender by default, to everyone with ``broadcast=True``."""
    socketio, options = _from_handler(kwargs)
    socketio.emit(event, *args, **options)


def send(message: Any, **kwargs: Any) -> None:
    """Send a ``message`` (or ``json`` with ``json=True``) event from a handler, as :func:`emit` sends."""
    socketio, options = _from_handler(kwargs)
    socketio.send(message, json=kwargs.get("json", False), **options)


def _from_handler(kwargs: dict[str, Any]) -> tuple[SocketIO, dict[str, Any]]:
    """The app's ``SocketIO`` and what Flask-SocketIO's ``emit`` and ``send`` pass on of ``kwargs``: the
    handler's namespace unless given, its client unless ``to``/``room`` or ``broadcast``; no other option."""
    socketio, sid, namespace = _current()
    to = kwargs.get("to") or kwargs.get("room")
    return socketio, {
        "namespace": kwargs["namespace"] if "namespace" in kwargs else namespace,
        "to": sid if to is None and not kwargs.get("broadcast") else to,
        "include_self": kwargs.get("include_self", True),
        "skip_sid": kwargs.get("skip_sid"),
        "callback": kwargs.get("callback"),
    }


def call(event: str, *args: Any, **kwargs: Any) -> Any:
    """Emit to the sender (or ``to``) and wait for its ack."""
    socketio, sid, namespace = _current()
    kwargs.setdefault("namespace", namespace)
    if not kwargs.get("to") and not kwargs.get("room"):
        kwargs["to"] = sid
    return socketio.call(event, *args, **kwargs)


def join_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Put the sender (or ``sid``) in ``room``."""
    socketio, current_sid, current_ns = _current()
    socketio.core.room_operation(ENTER_ROOM, namespace or current_ns, sid or current_sid, room)


def leave_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Take the sender (or ``sid``) out of ``room``."""
    socketio, current_sid, current_ns = _current()
    socketio.core.room_operation(LEAVE_ROOM, namespace or current_ns, sid or current_sid, room)


def close_room(room: str, namespace: str | None = None) -> None:
    """Remove everyone from ``room``."""
    socketio, _, current_ns = _current()
    socketio.close_room(room, namespace or current_ns)


def rooms(sid: str | None = None, namespace: str | None = None) -> list[str]:
    """The rooms of the sender (or ``sid``)."""
    socketio, current_sid, current_ns = _current()
    return socketio.server.rooms(sid or current_sid, namespace or current_ns)


def disconnect(sid: str | None = None, namespace: str | None = None, silent: bool = False) -> None:
    """Disconnect the sender (or ``sid``)."""
    socketio, current_sid, current_ns = _current()
    socketio.core.room_operation(Kind.DISCONNECT, namespace or current_ns, sid or current_sid)
