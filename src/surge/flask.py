"""The Flask-SocketIO-compatible front: ``SocketIO``, ``Namespace`` and the context functions.

An app written for Flask-SocketIO runs after changing its import to
``from surge import ...``.  Handlers run inside a Flask request context built
from the connect request, with ``request.sid``, ``request.namespace`` and
``request.event`` set.  ``def`` handlers run in the elastic worker pool, ``async
def`` handlers on the event loop (eagerly: a Task only once they wait); the kind
is decided once, when the handler is registered.  Operations that may cross
processes go through :class:`~surge.server.cluster.Cluster`.
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import inspect
import logging
import os
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import flask

from surge import options as options_module
from surge.client_js import MISSING as MISSING_CLIENT_JS
from surge.client_js import find_client_js
from surge.dispatch import HandlerTable
from surge.errors import ConnectionRefusedError, DisconnectedError
from surge.facade import ASYNC_MODE, ServerFacade
from surge.handlers import (
    Activity,
    Done,
    EventInfo,
    Handler,
    HandlerRecord,
    Job,
    ManagedSession,
    SocketRequestContext,
    SocketState,
    continue_coroutine,
)
from surge.options import resolve as resolve_options
from surge.protocol import jsoncodec
from surge.protocol import sio as sio_codec
from surge.protocol.sio import SioPacket, SioType
from surge.queue import messages
from surge.queue.messages import QueueMessage
from surge.runtime.asgi import AsgiApp
from surge.runtime.engine import EngineServer
from surge.runtime.pool import WorkerPool
from surge.runtime.server import EmitGate, HttpServer, new_event_loop, serve
from surge.runtime.wsgi import WsgiRunner
from surge.server.cluster import Cluster, target_tuple
from surge.server.core import SioServer, SioSocket

if TYPE_CHECKING:
    from surge.queue.redis_pubsub import RedisPublisher, RedisPubSub
    from surge.test_client import SocketIOTestClient

log = logging.getLogger("surge")
T = TypeVar("T")


# Emits that threads may have handed to the loop and the loop has not yet made.
EMITS_IN_FLIGHT = 64


class Reason:
    """Disconnect reasons passed to ``disconnect`` handlers (``SocketIO.reason``)."""

    CLIENT_DISCONNECT = "client disconnect"
    SERVER_DISCONNECT = "server disconnect"
    PING_TIMEOUT = "ping timeout"
    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"


class SocketIO:
    """Create a Socket.IO server for a Flask application, as Flask-SocketIO does."""

    reason = Reason
    async_mode = ASYNC_MODE  # Flask-SocketIO's templates show it; Surge's model is threads plus one loop

    def __init__(self, app: flask.Flask | None = None, **options: Any) -> None:
        self._given: dict[str, Any] = dict(options)  # as passed; init_app merges the app's config under them
        self.table = HandlerTable()
        self.namespace_handlers: list[Namespace] = []
        self.exception_handlers: dict[str, Handler] = {}
        self.default_exception_handler: Handler | None = None
        self.app: flask.Flask | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.pool: WorkerPool | None = None
        self.sio: SioServer | None = None
        self.http: HttpServer | None = None
        self._stop: asyncio.Event | None = None
        self._loop_thread: int | None = None
        self._in_flight = threading.BoundedSemaphore(EMITS_IN_FLIGHT)
        self._thread_state = threading.local()  # each emitting thread's EmitGate
        self._handoffs: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._handoff_lock = threading.Lock()
        self._handoff_scheduled = False
        self.engine: EngineServer | None = None
        self._node = secrets.token_hex(8)  # this process on the message queue
        self._queue: RedisPubSub | None = None
        self.cluster: Cluster | None = None
        self._publisher: RedisPublisher | None = None
        self._facade: ServerFacade | None = None
        self._activities: dict[str, Activity] = {}  # test clients' Engine.IO sid -> their handlers at work
        if app is not None:
            self.init_app(app)
        else:
            # A write-only emitter (message_queue, no app) or an app factory's: checked now, warned once.
            self.server_options = resolve_options({}, self._given, warn="message_queue" in options)

    def init_app(self, app: flask.Flask, **options: Any) -> None:
        """Bind to ``app`` (application factories); ``SOCKETIO_*`` config keys are read too."""
        config = getattr(app, "config", {})  # a plain WSGI app has none
        self._given.update(options)
        merged = self.server_options = resolve_options(config, self._given)
        self.app = app
        if isinstance(app, flask.Flask):
            app.extensions["socketio"] = self
        namespaces = merged["namespaces"]
        self.table.extra_namespaces = None if namespaces == "*" else frozenset(namespaces or ())
        options_module.apply_loggers(merged["logger"], merged["engineio_logger"])

    # -- registration ------------------------------------------------------------------

    def on(self, message: str, namespace: str | None = None) -> Callable[[Handler], Handler]:
        """Decorator: register a handler for event ``message`` (``'*'`` catches all)."""

        def decorator(handler: Handler) -> Handler:
            self.on_event(message, handler, namespace)
            return handler

        return decorator

    def on_event(self, message: str, handler: Handler, namespace: str | None = None) -> None:
        """Register ``handler`` for event ``message`` without a decorator."""
        self.table.add(namespace or "/", message, handler)

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
        self.table.add_class(namespace_handler, overridden)

    # -- the Handlers interface the server core calls (loop thread) -------------------

    def has_namespace(self, namespace: str) -> bool:
        return self.table.has_namespace(namespace)

    def handle_connect(self, socket: SioSocket, auth: Any) -> None:
        socket.state = SocketState()
        socket.state.activity = self._activities.get(socket.eio_sid)
        target = self.table.find(socket.namespace, "connect")
        if target is None:
            assert self.sio is not None
            self.sio.accept(socket)
            return
        # request.event carries the environ and auth, as Flask-SocketIO's does.
        event_args = (socket.environ, auth)
        info = {"message": target.message, "args": event_args}
        args = event_args if target.raw else (auth,) if target.takes_extra else ()
        self._run(socket, info, target.fn, target.is_async, args, self._connect_done)

    def _connect_done(self, socket: SioSocket, result: Any, error: BaseException | None) -> None:
        assert self.sio is not None
        if isinstance(error, ConnectionRefusedError):
            self.sio.refuse(socket, error.error_args)
        elif isinstance(error, builtins.ConnectionRefusedError):
            self.sio.refuse(socket, {"message": "Connection refused by server"})  # python-socketio's words
        elif error is not None or result is False:
            self.sio.refuse(socket, {"message": "Connection rejected by server"})
        else:
            self.sio.accept(socket)

    def handle_event(self, socket: SioSocket, event: str, args: list[Any], ack_id: int | None) -> None:
        target = self.table.find(socket.namespace, event)
        if target is None:
            log.debug("no handler for event %r on %s", event, socket.namespace)
            return
        call_args = (*target.prefix, *args) if target.prefix else tuple(args)
        done = None
        if ack_id is not None:

            def done(sock: SioSocket, result: Any, error: BaseException | None) -> None:
                if error is None:
                    assert self.sio is not None
                    self.sio.send_ack(sock, ack_id, _ack_args(result))

        info = {"message": target.message, "args": call_args}
        self._run(socket, info, target.fn, target.is_async, call_args, done)

    def handle_ack(self, socket: SioSocket, callback: Handler, args: list[Any]) -> None:
        self._run_callback(callback, args)

    def handle_disconnect(self, socket: SioSocket, reason: str) -> None:
        target = self.table.find(socket.namespace, "disconnect")
        if target is not None:
            info = {"message": target.message, "args": (reason,)}
            args = (reason,) if target.takes_extra or target.raw else ()
            self._run(socket, info, target.fn, target.is_async, args, None)

    # -- running handlers -------------------------------------------------------------------

    def _run(
        self,
        socket: SioSocket,
        info: EventInfo | None,
        fn: Handler,
        is_async: bool,
        args: tuple[Any, ...],
        done: Done | None,
        serial: bool = True,
    ) -> None:
        """Run a handler in the worker pool (def) or on the loop (async def).

        With ``async_handlers=False`` a socket's handlers run one at a time, in
        arrival order (``serial=False`` exempts ack callbacks, which a waiting
        ``call()`` inside a handler depends on).
        """
        job: Job = (socket, info, fn, is_async, args, done)
        state: SocketState | None = socket.state
        if serial and state is not None and not self.server_options["async_handlers"]:
            if state.busy:
                if state.queue is None:
                    state.queue = deque()
                state.queue.append(job)
                return
            state.busy = True
        self._start(job)

    def _start(self, job: Job) -> None:
        assert self.loop is not None and self.pool is not None
        state: SocketState | None = job[0].state
        if state is not None and state.activity is not None:
            state.activity.begin()
        if job[3]:
            self._start_eagerly(self._run_async(*job))
        else:
            self.pool.submit(self._run_sync, *job)

    def _start_eagerly(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run an ``async def`` handler now, up to its first real wait, in a context of its own.

        Most handlers never wait; they finish here without a Task or a trip round the loop.
        One that waits continues in a Task created with the same context (what Python 3.12's
        eager tasks do).
        """
        assert self.loop is not None
        context = contextvars.copy_context()
        try:
            awaited = context.run(coro.send, None)
        except StopIteration:
            return
        self.loop.create_task(continue_coroutine(coro, awaited), context=context)

    def _finished(self, socket: SioSocket, done: Done | None, result: Any, error: BaseException | None) -> None:
        """On the loop, after a handler: its continuation, then the socket's next queued handler."""
        if done is not None:
            done(socket, result, error)
        state: SocketState | None = socket.state
        if state is None:
            return
        if state.activity is not None:
            state.activity.end()
        if state.busy:
            if state.queue:
                self._start(state.queue.popleft())
            else:
                state.busy = False

    def _run_sync(
        self,
        socket: SioSocket,
        info: EventInfo | None,
        fn: Handler,
        is_async: bool,
        args: tuple[Any, ...],
        done: Done | None,
    ) -> None:
        result, error = self._call_in_context(socket, info, lambda: fn(*args))
        state: SocketState | None = socket.state
        if done is not None or (state is not None and state.busy):
            self.call_in_loop(self._finished, socket, done, result, error)
        elif state is not None and state.activity is not None:
            state.activity.end()

    async def _run_async(
        self,
        socket: SioSocket,
        info: EventInfo | None,
        fn: Handler,
        is_async: bool,
        args: tuple[Any, ...],
        done: Done | None,
    ) -> None:
        with self._context(socket, info) as context:
            try:
                result, error = await fn(*args), None
            except Exception as exc:
                result, error = self._handle_error(socket, info, exc)
                context.error = error
            else:
                context.handler_returned()
        self._finished(socket, done, result, error)

    def _call_in_context(
        self, socket: SioSocket, info: EventInfo | None, call: Callable[[], Any]
    ) -> tuple[Any, BaseException | None]:
        with self._context(socket, info) as context:
            try:
                result = call()
            except Exception as exc:
                result, context.error = self._handle_error(socket, info, exc)
                return result, context.error
            context.handler_returned()
            return result, None

    def _context(self, socket: SioSocket, info: EventInfo | None) -> SocketRequestContext:
        """A Flask request context for a handler of ``socket``, with the managed session."""
        app = self.app
        assert app is not None
        state: SocketState | None = socket.state
        if state is None:
            return SocketRequestContext.prototype(app, socket).for_call(info)
        if state.context is None:
            context = SocketRequestContext.prototype(app, socket)
            if self.server_options["manage_session"]:
                # Load the cookie session once; handlers share this copy from then on.
                opened = app.session_interface.open_session(app, context.request)
                state.session = context._session = ManagedSession(opened or {})
            else:
                context.saves_session = True  # Flask's own session, opened and saved by each handler
            state.context = context
        return state.context.for_call(info)

    def _handle_error(
        self, socket: SioSocket, info: EventInfo | None, exc: Exception
    ) -> tuple[Any, BaseException | None]:
        """Route a handler's exception to ``on_error``; its return value answers like the handler's would.

        Returns ``(result, error)``: the error is ``None`` once an error handler took it.
        """
        if isinstance(exc, ConnectionRefusedError):
            return None, exc
        handler = self.exception_handlers.get(socket.namespace, self.default_exception_handler)
        if handler is None:
            if isinstance(exc, builtins.ConnectionRefusedError) and info is not None and info["message"] == "connect":
                return None, exc  # python-socketio refuses the connection for it
            state: SocketState | None = socket.state
            if state is not None and state.activity is not None:
                state.activity.error = exc  # a test client raises it, as Flask-SocketIO's does
            log.error(
                "error in handler for event %r (sid %s, namespace %s)",
                info and info["message"],
                socket.sid,
                socket.namespace,
                exc_info=exc,
            )
            return None, exc
        try:
            return handler(exc), None
        except Exception as handler_exc:
            log.exception("error in the error handler for event %r (sid %s)", info and info["message"], socket.sid)
            return None, handler_exc

    # -- loop plumbing ------------------------------------------------------------------------

    def call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop thread: inline there, handed over from elsewhere.

        Hand-overs from other threads are batched: they queue in order, and only the
        first of a batch wakes the loop (``call_soon_threadsafe`` writes to a pipe, a
        system call per wake-up), which then runs everything queued so far.
        """
        loop = self.loop
        if loop is None:
            raise RuntimeError("the Socket.IO server is not running")
        if threading.get_ident() == self._loop_thread:
            fn(*args)
            return
        self._handoffs.append((fn, args))
        with self._handoff_lock:
            if self._handoff_scheduled:
                return
            self._handoff_scheduled = True
        loop.call_soon_threadsafe(self._run_handoffs)

    def _run_handoffs(self) -> None:
        with self._handoff_lock:
            self._handoff_scheduled = False  # from here on, a new hand-over schedules another run
        handoffs = self._handoffs
        while handoffs:
            fn, args = handoffs.popleft()
            try:
                fn(*args)
            except Exception:
                log.exception("error in %r handed over to the event loop", fn)

    def _loop_or_fail(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            raise RuntimeError("the Socket.IO server is not running; call socketio.run(app)")
        return self.loop

    def _server(self) -> SioServer:
        if self.sio is None:
            raise RuntimeError("the Socket.IO server is not running; call socketio.run(app)")
        return self.sio

    def _read_on_loop(self, read: Callable[[], T]) -> T:
        """``read()`` on the loop thread (inline there), for a consistent view of the server's state."""
        loop = self._loop_or_fail()
        if threading.get_ident() == self._loop_thread:
            return read()

        async def on_loop() -> T:
            return read()

        return asyncio.run_coroutine_threadsafe(on_loop(), loop).result()

    @property
    def server(self) -> ServerFacade:
        """python-socketio's ``Server`` API, for what apps reach through ``socketio.server`` (see surge.facade)."""
        if self._facade is None:
            self._facade = ServerFacade(self)
        return self._facade

    # -- the public API ---------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Emit to all clients of a namespace, or to ``to``/``room``."""
        namespace = kwargs.pop("namespace", None) or "/"
        to = kwargs.pop("to", None) or kwargs.pop("room", None)
        include_self = kwargs.pop("include_self", True)
        skip_sid = kwargs.pop("skip_sid", None)
        callback = kwargs.pop("callback", None)
        kwargs.pop("broadcast", None)
        kwargs.pop("ignore_queue", None)  # every emit goes through the cluster; the queue only where needed
        if kwargs:
            raise TypeError(f"unexpected arguments: {', '.join(kwargs)}")
        args = _event_args(args)
        skip = [skip_sid] if isinstance(skip_sid, str) else list(skip_sid or [])
        sid = getattr(flask.request, "sid", None) if flask.has_request_context() else None
        if not include_self and not skip and sid is not None:
            skip.append(sid)  # as in Flask-SocketIO, include_self=False only when no skip_sid is given
        if callback is not None and sid is not None:
            callback = _EmitterCallback(callback, sid, flask.request.namespace)  # type: ignore[attr-defined]
        if self.loop is None and self._write_only_publisher() is not None:
            if callback is not None:
                raise ValueError("a write-only emitter cannot receive acks")
            self._publish_directly("emit", namespace, to=to, skip=skip, data=[event, *args])
            return
        if threading.get_ident() == self._loop_thread:
            self._cluster_or_fail().emit(event, args, namespace, to, skip, callback)
            return
        # Flow control for emitting threads: a bounded number of emits in flight to the
        # loop, and a thread whose emit reached a client over max_write_buffer waits
        # until that client drains (HttpServer.congestion), so a handler that emits
        # faster than its clients read cannot grow memory.
        self._cluster_or_fail()
        gate = self._emit_gate()
        gate.wait()
        self._in_flight.acquire()
        self.call_in_loop(self._emit_in_loop, gate, event, args, namespace, to, skip, callback)

    def _emit_gate(self) -> EmitGate:
        """This thread's flow-control gate."""
        gate: EmitGate | None = getattr(self._thread_state, "gate", None)
        if gate is None:
            gate = self._thread_state.gate = EmitGate()
        return gate

    def _emit_in_loop(self, gate: EmitGate, *args: Any) -> None:
        http = self.http
        if http is not None:
            http.emitting = gate
        try:
            self._cluster_or_fail().emit(*args)
        finally:
            if http is not None:
                http.emitting = None
            self._in_flight.release()

    # -- room operations, here or on the process that has the client ---------------------------

    def _room_operation(self, kind: str, namespace: str, sid: str = "", room: str = "") -> None:
        if self.loop is None and self._write_only_publisher() is not None:
            self._publish_directly(kind, namespace, sid=sid, room=room)
            return
        self.call_in_loop(self._cluster_or_fail().room_operation, kind, namespace, sid, room)

    def _cluster_or_fail(self) -> Cluster:
        if self.cluster is None:
            raise RuntimeError("the Socket.IO server is not running; call socketio.run(app)")
        return self.cluster

    # -- cluster-wide operations (every process, with a message queue) ----------------------------

    def sockets_join(self, room: str, to: str | list[str] | None = None, namespace: str | None = None) -> None:
        """Put every client in ``to`` (a room, rooms, or None for all) in ``room``, on every process."""
        self._sockets_operation("sockets_join", namespace, to, room)

    def sockets_leave(self, room: str, to: str | list[str] | None = None, namespace: str | None = None) -> None:
        """Take every client in ``to`` out of ``room``, on every process."""
        self._sockets_operation("sockets_leave", namespace, to, room)

    def disconnect_sockets(self, to: str | list[str] | None = None, namespace: str | None = None) -> None:
        """Disconnect every client in ``to``, on every process."""
        self._sockets_operation("disconnect_sockets", namespace, to)

    def _sockets_operation(self, kind: str, namespace: str | None, to: Any, room: str = "") -> None:
        if self.loop is None and self._write_only_publisher() is not None:
            self._publish_directly(kind, namespace or "/", to=to, room=room)
            return
        self.call_in_loop(self._cluster_or_fail().sockets_operation, kind, namespace or "/", to, room)

    def fetch_sockets(
        self, to: str | list[str] | None = None, namespace: str | None = None, timeout: float = 5
    ) -> list[dict[str, Any]]:
        """The clients in ``to`` on every process, as ``{"sid", "rooms"}``; waits for every process's answer.

        Blocks; call it from a ``def`` handler or a thread (``await fetch_sockets_async`` on the loop).
        """
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError("fetch_sockets() would block the event loop; await fetch_sockets_async()")
        future = asyncio.run_coroutine_threadsafe(
            self.fetch_sockets_async(to, namespace, timeout), self._loop_or_fail()
        )
        return future.result()

    async def fetch_sockets_async(
        self, to: str | list[str] | None = None, namespace: str | None = None, timeout: float = 5
    ) -> list[dict[str, Any]]:
        """:meth:`fetch_sockets` for ``async def`` code on the loop."""
        cluster = self._cluster_or_fail()
        namespace = namespace or "/"
        found = cluster.local_sockets(namespace, to)
        if self._queue is None:
            return found
        others = await self._queue.subscribers() - 1
        if others <= 0:
            return found
        done = asyncio.get_running_loop().create_future()
        answers: list[list[dict[str, Any]]] = []

        def collect(sockets: list[dict[str, Any]]) -> None:
            answers.append(sockets)
            if len(answers) >= others and not done.done():
                done.set_result(None)

        fetch_id = cluster.request_sockets(namespace, to, collect)
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            log.warning("fetch_sockets: %d of %d processes answered within %s s", len(answers), others, timeout)
        finally:
            cluster.fetches.pop(fetch_id, None)
        for sockets in answers:
            found.extend(sockets)
        return found

    def _queue_received(self, raw: bytes) -> None:
        if self.cluster is not None:
            self.cluster.received(raw)

    def _run_callback(self, callback: Handler, args: list[Any]) -> None:
        """A client's ack (of this process or another): run the emit's callback.

        As in Flask-SocketIO, a callback given to an emit made in a handler runs in
        the request context of that handler's client (``request.sid`` is the emitter),
        and not at all once that client is gone; any other runs in a worker with an
        app context.
        """
        if getattr(callback, "runs_on_loop", False):
            callback(*args)
            return
        if isinstance(callback, _EmitterCallback):
            assert self.sio is not None
            socket = self.sio.sockets.get(callback.sid)
            if socket is not None and socket.namespace == callback.namespace:
                fn = callback.fn
                call_args = tuple(args)
                info = {"message": None, "args": call_args}
                self._run(socket, info, fn, inspect.iscoroutinefunction(fn), call_args, None, serial=False)
            return
        if inspect.iscoroutinefunction(callback):
            self._loop_or_fail().create_task(callback(*args))
            return
        assert self.pool is not None
        self.pool.submit(self._call_with_app_context, callback, args)

    def _call_with_app_context(self, callback: Handler, args: list[Any]) -> None:
        assert self.app is not None
        with self.app.app_context():
            callback(*args)

    # -- the write-only emitter (no app, no server: a Celery worker, a cron script) ---------------

    def _write_only_publisher(self) -> RedisPublisher | None:
        url = self.server_options.get("message_queue")
        if url is None:
            return None
        if self._publisher is None:
            from surge.queue.redis_pubsub import RedisPublisher  # redis is needed only with a queue

            channel = self.server_options.get("channel") or options_module.DEFAULTS["channel"]
            self._publisher = RedisPublisher(url, channel)
        return self._publisher

    def _publish_directly(self, kind: str, namespace: str, **fields: Any) -> None:
        publisher = self._write_only_publisher()
        assert publisher is not None
        targets = target_tuple(fields.get("to"))
        if kind == "emit":
            text, attachments = sio_codec.encode(SioPacket(SioType.EVENT, namespace, fields["data"]))
            message = QueueMessage(
                "emit", self._node, namespace, text, tuple(attachments), targets, tuple(fields["skip"])
            )
        else:
            message = QueueMessage(
                kind, self._node, namespace, to=targets, sid=fields.get("sid", ""), room=fields.get("room", "")
            )
        publisher.publish(messages.encode(message))

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
        """Send a ``message`` (or ``json``) event."""
        to = to or kwargs.pop("room", None)
        self.emit(
            "json" if json else "message",
            data,
            namespace=namespace,
            to=to,
            callback=callback,
            include_self=include_self,
            skip_sid=skip_sid,
        )

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
        args = _event_args(args)
        if to is None:
            raise ValueError("call() needs the sid of one client in to=")
        if self.loop is not None and threading.get_ident() == self._loop_thread:
            raise RuntimeError("call() would block the event loop; use it from a def handler or a thread")
        waiter = _AckWaiter()
        self.call_in_loop(self._cluster_or_fail().emit, event, args, namespace or "/", to, (), waiter)
        if not waiter.ready.wait(timeout):
            raise TimeoutError(f"no answer to {event!r} within {timeout} s")
        if waiter.answer is None:
            raise DisconnectedError(f"client {to} disconnected before answering {event!r}")
        answer = waiter.answer
        if not answer:
            return None
        return answer[0] if len(answer) == 1 else answer

    def close_room(self, room: str, namespace: str | None = None) -> None:
        """Remove every client from ``room`` (on every process, with a message queue)."""
        self._room_operation("close_room", namespace or "/", room=room)

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread | None:
        """Run ``target`` in a daemon thread (``async def`` targets run on the loop)."""
        if inspect.iscoroutinefunction(target):
            coro: Coroutine[Any, Any, Any] = target(*args, **kwargs)
            self.call_in_loop(self._loop_or_fail().create_task, coro)
            return None
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        return thread

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
        Surge's server is not Werkzeug's development server.
        """
        app = app or self.app
        if app is None:
            raise ValueError("run() needs the Flask app")
        if self.app is None:
            self.init_app(app)
        unsupported = set(kwargs) & {"certfile", "keyfile", "ssl_context"}
        if unsupported:
            raise NotImplementedError(
                f"{', '.join(sorted(unsupported))}: terminate TLS in a proxy (nginx, caddy) in front of Surge"
            )
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
                f" * Surge serving {getattr(app, 'name', 'app')!r} on http://{server.host}:{server.port} (Ctrl-C to quit)",
                file=sys.stderr,
                flush=True,
            )

        def main() -> None:
            self.serve(app, host, port, on_started=started, debugger=debug)

        if use_reloader:
            from werkzeug._reloader import run_with_reloader  # what Flask's own reloader runs

            run_with_reloader(main, **(reloader_options or {}))
        else:
            main()

    def serve(
        self,
        app: flask.Flask,
        host: str,
        port: int,
        on_started: Callable[[HttpServer], None] | None = None,
        debugger: bool = False,
    ) -> None:
        """Run the built-in server in this thread until :meth:`stop` or a signal."""
        loop = new_event_loop()
        engine, pool = self._start_core(loop)
        client_js = find_client_js(
            self.server_options["client_js"], os.getcwd(), getattr(app, "root_path", os.getcwd())
        )
        if client_js is None:
            log.warning(MISSING_CLIENT_JS)
        wsgi_app = getattr(app, "wsgi_app", app)
        if debugger:
            from werkzeug.debug import DebuggedApplication

            wsgi_app = DebuggedApplication(wsgi_app, evalex=True)
        self.http = HttpServer(
            loop,
            engine,
            WsgiRunner(wsgi_app, loop, pool),
            path=self.server_options["path"],
            host=host,
            port=port,
            client_js=client_js,
            request_timeout=self.server_options["request_timeout"],
            max_connections=self.server_options["max_connections"],
            max_write_buffer=self.server_options["max_write_buffer"],
        )
        self._stop = asyncio.Event()
        try:
            serve(loop, self.http, on_started=on_started, stop_event=self._stop)
        finally:
            pool.shutdown()
            if self._queue is not None:
                loop.run_until_complete(self._queue.close())
                self._queue = None
            loop.close()
            self.loop = None
            self.sio = None

    def asgi_app(self, other_asgi_app: Any = None) -> AsgiApp:
        """An ASGI application for uvicorn, hypercorn and the like (the slower path; see the docs).

        Socket.IO is served under ``path``; other requests go to ``other_asgi_app``
        when given, else to the Flask app's routes (run in the worker pool).
        """
        if self.app is None:
            raise ValueError("asgi_app() needs SocketIO(app) or init_app(app) first")
        wsgi = getattr(self.app, "wsgi_app", None)
        return AsgiApp(self._start_core, self.server_options["path"], wsgi, other_asgi_app)

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

        return SocketIOTestClient(app, self, namespace, query_string, headers, auth, flask_test_client)

    def _start_core(self, loop: asyncio.AbstractEventLoop) -> tuple[EngineServer, WorkerPool]:
        """Build the server core on ``loop`` (which runs in the calling thread)."""
        opts = self.server_options
        self.loop = loop
        self._loop_thread = threading.get_ident()
        self.pool = pool = WorkerPool(max_workers=opts["max_workers"])
        dumps: Callable[[Any], str] = jsoncodec.dumps
        loads: Callable[[str | bytes], Any] = jsoncodec.loads
        if opts["json"] is not None:
            dumps, loads = _json_functions(opts["json"], self.app)
        self.sio = SioServer(
            self,
            max_attachments=opts["max_attachments"],
            always_connect=opts["always_connect"],
            dumps=dumps,
            loads=loads,
            trace=bool(opts["logger"]),
        )
        if opts["message_queue"]:
            from surge.queue.redis_pubsub import RedisPubSub  # redis is needed only with a queue

            self._queue = RedisPubSub(opts["message_queue"], opts["channel"], self._queue_received)
            loop.call_soon(self._queue.start)
        self.cluster = Cluster(self.sio, self._node, self._queue.publish if self._queue else None, self._run_callback)
        ping_interval, ping_grace = options_module.ping_interval(opts["ping_interval"])
        engine = self.engine = EngineServer(
            self.sio,
            loop,
            ping_interval=ping_interval,
            ping_grace=ping_grace,
            ping_timeout=opts["ping_timeout"],
            max_http_buffer_size=opts["max_http_buffer_size"],
            max_write_buffer=opts["max_write_buffer"],
            cors_allowed_origins=opts["cors_allowed_origins"],
            cors_credentials=opts["cors_credentials"],
            transports=tuple(opts["transports"]),
            trace=bool(opts["engineio_logger"]),
            allow_upgrades=opts["allow_upgrades"],
        )
        return engine, pool

    def stop(self) -> None:
        """Stop the server started by :meth:`run` (from a handler or another thread)."""
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)


class _EmitterCallback:
    """An emit's callback with the handler's client that emitted, whose context it runs in."""

    __slots__ = ("fn", "namespace", "sid")

    def __init__(self, fn: Handler, sid: str, namespace: str) -> None:
        self.fn = fn
        self.sid = sid
        self.namespace = namespace

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


def _event_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The arguments an emit's data stands for: a tuple is several, None is none (python-socketio's rule).

    More than one positional argument is a Surge extension: each is one argument.
    """
    if len(args) != 1:
        return args
    data = args[0]
    if isinstance(data, tuple):
        return tuple(data)
    if data is None:
        return ()
    return args


class _AckWaiter:
    """The ack callback of a ``call()``: wakes the waiting thread with the answer or a cancel."""

    __slots__ = ("answer", "ready")
    runs_on_loop = True  # thread-safe and needs no handler context

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.answer: tuple[Any, ...] | None = None

    def __call__(self, *args: Any) -> None:
        self.answer = args
        self.ready.set()

    def cancel(self) -> None:
        """The client went away: ``call()`` fails at once."""
        self.ready.set()


def _bind_first(fn: Handler, first: Any) -> Handler:
    def bound(*args: Any) -> Any:
        return fn(first, *args)

    if inspect.iscoroutinefunction(fn):

        async def abound(*args: Any) -> Any:
            return await fn(first, *args)

        return abound
    return bound


def _ack_args(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


def _json_functions(module: Any, app: Any) -> tuple[Callable[[Any], str], Callable[[str | bytes], Any]]:
    """``json=module`` as packet codec; ``flask.json`` runs in an app context, so the app's provider applies.

    (Outside one, ``flask.json`` ignores the app's JSON provider; Flask-SocketIO wraps it the same way.)
    """
    if module is flask.json and app is not None:

        def dumps(obj: Any) -> str:
            with app.app_context():
                return str(module.dumps(obj, separators=(",", ":")))

        def loads(text: str | bytes) -> Any:
            with app.app_context():
                return module.loads(text)

        return dumps, jsoncodec.guarded(loads)

    def compact_dumps(obj: Any) -> str:
        return str(module.dumps(obj, separators=(",", ":")))

    return compact_dumps, jsoncodec.guarded(module.loads)


# -- the context functions (inside handlers) ---------------------------------------------


def _current() -> tuple[SocketIO, str, str]:
    if not flask.has_request_context() or not hasattr(flask.request, "sid"):
        raise RuntimeError("this function works only inside a Socket.IO handler")
    socketio: SocketIO = flask.current_app.extensions["socketio"]
    return socketio, flask.request.sid, flask.request.namespace  # type: ignore[attr-defined]


def emit(event: str, *args: Any, **kwargs: Any) -> None:
    """Emit from a handler: to the sender by default, to everyone with ``broadcast=True``."""
    socketio, sid, namespace = _current()
    namespace = kwargs.pop("namespace", None) or namespace
    to = kwargs.pop("to", None) or kwargs.pop("room", None)
    broadcast = kwargs.pop("broadcast", False)
    if to is None and not broadcast:
        to = sid
    socketio.emit(event, *args, namespace=namespace, to=to, **kwargs)


def send(message: Any, **kwargs: Any) -> None:
    """Send a ``message`` (or ``json`` with ``json=True``) event from a handler."""
    json = kwargs.pop("json", False)
    emit("json" if json else "message", message, **kwargs)


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
    socketio._room_operation("enter_room", namespace or current_ns, sid or current_sid, room)


def leave_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Take the sender (or ``sid``) out of ``room``."""
    socketio, current_sid, current_ns = _current()
    socketio._room_operation("leave_room", namespace or current_ns, sid or current_sid, room)


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
    socketio._room_operation("disconnect", namespace or current_ns, sid or current_sid)


class Namespace:
    """Class-based handlers: a method ``on_<event>`` handles ``<event>``."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.socketio: SocketIO | None = None

    def _set_socketio(self, socketio: SocketIO) -> None:
        self.socketio = socketio

    def _io(self) -> SocketIO:
        if self.socketio is None:
            raise RuntimeError("register the namespace with socketio.on_namespace() first")
        return self.socketio

    def trigger_event(self, event: str, sid: str, *args: Any) -> Any:
        """Call the ``on_<event>`` method, if there is one (Flask-SocketIO's signature).

        Override it to route events yourself; ``args`` are the event's arguments,
        for ``connect`` ``(environ, auth)`` and for ``disconnect`` ``(reason,)``.
        """
        handler = getattr(self, "on_" + (event or ""), None)
        if handler is None:
            return None
        if event == "connect" or event == "disconnect":
            extra = args[-1] if args else None  # auth / reason
            return handler(extra) if HandlerRecord.of(handler).takes_extra else handler()
        return handler(*args)

    def emit(
        self,
        event: str,
        data: Any = None,
        room: str | None = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Handler | None = None,
        to: str | None = None,
        skip_sid: Any = None,
    ) -> None:
        """Emit to a room or to everyone in this namespace."""
        args = () if data is None else (data,)
        self._io().emit(
            event,
            *args,
            to=to or room,
            include_self=include_self,
            namespace=namespace or self.namespace,
            callback=callback,
            skip_sid=skip_sid,
        )

    def send(
        self,
        data: Any,
        room: str | None = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Handler | None = None,
        to: str | None = None,
    ) -> None:
        """Send a ``message`` event."""
        self._io().send(
            data, to=to or room, include_self=include_self, namespace=namespace or self.namespace, callback=callback
        )

    def call(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        sid: str | None = None,
        namespace: str | None = None,
        timeout: float = 60,
    ) -> Any:
        """Emit to one client and wait for its ack."""
        args = () if data is None else (data,)
        return self._io().call(event, *args, to=to or sid, namespace=namespace or self.namespace, timeout=timeout)

    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        io = self._io()
        io._room_operation("enter_room", namespace or self.namespace, sid, room)

    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        io = self._io()
        io._room_operation("leave_room", namespace or self.namespace, sid, room)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        self._io().close_room(room, namespace or self.namespace)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        return self._io().server.rooms(sid, namespace or self.namespace)

    def disconnect(self, sid: str, namespace: str | None = None) -> None:
        io = self._io()
        io._room_operation("disconnect", namespace or self.namespace, sid)

    def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """python-socketio's per-client session of ``sid`` (not Flask's)."""
        return self._io().server.get_session(sid, namespace or self.namespace)

    def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        self._io().server.save_session(sid, session, namespace or self.namespace)

    def session(self, sid: str, namespace: str | None = None) -> Any:
        """``with self.session(sid) as session:``: changes are saved on exit."""
        return self._io().server.session(sid, namespace or self.namespace)
