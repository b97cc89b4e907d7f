"""Which handler an event goes to, with which arguments, and how it runs (front layer).

The handler tables of a ``SocketIO``: functions registered with ``on``, and
class-based namespaces.  The resolution order is Flask-SocketIO's (that is,
python-socketio's): ``handlers[ns][event]``, ``handlers[ns]["*"]``,
``handlers["*"][event]``, ``handlers["*"]["*"]``, then the class-based
namespace of ``ns``.  A :class:`Target` also carries what ``request.event``
says of the call: the *registered* name (``"*"`` for a catch-all) and the
arguments as the handler receives them.
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import inspect
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import flask

from surge.errors import ConnectionRefusedError
from surge.flask_context import HandlerContext
from surge.handlers import (
    Activity,
    Done,
    EventInfo,
    HandlerRecord,
    Job,
    ManagedSession,
    SocketState,
    continue_coroutine,
)
from surge.namespace import Namespace
from surge.protocol.sio import EncodedArgs

if TYPE_CHECKING:
    from surge.metrics import Metrics
    from surge.runtime.pool import WorkerPool
    from surge.server.core import SioServer, SioSocket

log = logging.getLogger("surge")

Handler = Callable[..., Any]

SAVED_SESSION = "saved_session"  # the connection's environ key of its managed session (Flask-SocketIO's)

# Events a catch-all ("*") never receives (python-socketio's reserved events).
RESERVED = frozenset(("connect", "disconnect"))


@dataclass(frozen=True, slots=True)
class Target:
    """A handler found for an event."""

    fn: Handler
    is_async: bool
    takes_extra: bool  # connect: takes ``auth``; disconnect: takes ``reason``
    message: str  # request.event["message"]: the name the handler was registered under
    prefix: tuple[Any, ...] = ()  # arguments before the event's own (a catch-all's event name)
    raw: bool = False  # a Namespace.trigger_event override: called as Flask-SocketIO calls it


class HandlerTable:
    """The handlers of one ``SocketIO``: functions by namespace and event, and namespace classes."""

    def __init__(self) -> None:
        self.functions: dict[str, dict[str, Target]] = {}  # built at registration: no allocation per event
        self.classes: dict[str, tuple[Any, bool]] = {}  # namespace -> (instance, trigger_event overridden)
        self.extra_namespaces: frozenset[str] | None = frozenset()  # namespaces=[...]; None: '*' (all)
        self._methods: dict[tuple[str, str], Target] = {}  # a namespace class's methods, looked up once each

    def add(self, namespace: str, message: str, fn: Handler) -> None:
        self.functions.setdefault(namespace, {})[message] = _target(HandlerRecord.of(fn), message)

    def add_class(self, instance: Any, overrides_trigger: bool) -> None:
        self.classes[instance.namespace] = (instance, overrides_trigger)
        self._methods.clear()

    def has_namespace(self, namespace: str) -> bool:
        """Whether a client may connect to ``namespace`` (python-socketio's rule)."""
        extra = self.extra_namespaces
        return (
            namespace == "/"
            or namespace in self.functions
            or namespace in self.classes
            or extra is None
            or namespace in extra
        )

    def find(self, namespace: str, event: str) -> Target | None:
        catch_all = event not in RESERVED
        table = self.functions.get(namespace)
        if table is not None:
            target = table.get(event)
            if target is not None:
                return target
            if catch_all and "*" in table:
                return _with_prefix(table["*"], (event,))
        table = self.functions.get("*")
        if table is not None:
            target = table.get(event)
            if target is not None:
                return target
            if catch_all and "*" in table:
                # Flask-SocketIO hands a catch-all of every namespace (namespace, *args).
                return _with_prefix(table["*"], (namespace,))
        found = self.classes.get(namespace) or self.classes.get("*")
        if found is None:
            return None
        instance, overrides_trigger = found
        if overrides_trigger:
            return Target(partial(_trigger, instance, event), False, True, event, raw=True)
        key = (instance.namespace, event)
        target = self._methods.get(key)
        if target is None:
            method = getattr(instance, "on_" + event, None)
            if method is None:
                # Flask-SocketIO's Namespace answers an event it has no method for with None (so an
                # ack comes back empty).  Not cached: clients choose event names.
                return Target(_nothing, False, False, event)
            target = self._methods[key] = _target(HandlerRecord.of(method), event)
        return target


def _target(record: HandlerRecord, message: str) -> Target:
    return Target(record.fn, record.is_async, record.takes_extra, message)


def _with_prefix(target: Target, prefix: tuple[Any, ...]) -> Target:
    return Target(target.fn, target.is_async, target.takes_extra, target.message, prefix)


def _trigger(instance: Any, event: str, *args: Any) -> Any:
    return instance.trigger_event(event, flask.request.sid, *args)  # type: ignore[attr-defined]


def _nothing(*args: Any) -> None:
    return None


@dataclass
class Registry:
    """What ``SocketIO`` registered: handlers by namespace and event, and the error handlers."""

    table: HandlerTable = field(default_factory=HandlerTable)
    exception_handlers: dict[str, Handler] = field(default_factory=dict)
    default_exception_handler: Handler | None = None
    admin: Instrument | None = None  # socketio.instrument()


class Instrument(Protocol):
    """What ``instrument()`` set up (surge.admin.Admin): started with every server core that runs."""

    namespace: str

    def start(self, core: Any) -> None: ...

    def middleware(self, app: Any, socketio_path: str) -> Any:
        """``app`` with the UI's files answered first (or ``app`` itself)."""


class Core(Protocol):
    """What the dispatcher needs of the server core (surge.core.ServerCore)."""

    app: Any
    options: dict[str, Any]
    activities: dict[str, Activity]
    metrics: Metrics | None

    def call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None: ...


class Dispatcher:
    """Runs handlers for the Socket.IO server (its :class:`~surge.server.core.Handlers`).

    ``def`` handlers run in the worker pool, ``async def`` handlers on the loop
    (eagerly: a Task only once they wait); each in a Flask request context of
    its socket.  The loop, pool and server are attached when the core starts.
    """

    def __init__(self, core: Core, registry: Registry) -> None:
        self.core = core
        self.registry = registry
        self.table = registry.table
        self.options = core.options
        self.app = core.app
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # attach() sets them
        self.pool: WorkerPool = None  # type: ignore[assignment]
        self.sio: SioServer = None  # type: ignore[assignment]
        self._sync_batch: list[Job] = []
        self._async_batch: list[Job] = []

    def attach(self, loop: asyncio.AbstractEventLoop, pool: WorkerPool, sio: SioServer) -> None:
        self.loop, self.pool, self.sio = loop, pool, sio

    def has_namespace(self, namespace: str) -> bool:
        return self.table.has_namespace(namespace)

    def handle_connect(self, socket: SioSocket, auth: Any) -> None:
        if socket.state is None:  # a recovered socket keeps its state (Flask session, ...)
            socket.state = SocketState()
        socket.state.activity = self.core.activities.get(socket.eio_sid)
        target = self.table.find(socket.namespace, "connect")
        if target is None:
            self._accept(socket)
            return
        # request.event carries the environ and auth, as Flask-SocketIO's does; auth that is empty
        # ({}, "") is None, as python-socketio passes it.
        auth = auth if auth else None
        event_args = (socket.environ, auth)
        info = {"message": target.message, "args": event_args}
        args = event_args if target.raw else (auth,) if target.takes_extra else ()
        self._run(socket, info, target.fn, target.is_async, args, self._connect_done)

    def _connect_done(self, socket: SioSocket, result: Any, error: BaseException | None) -> None:
        if isinstance(error, ConnectionRefusedError):
            self.sio.refuse(socket, error.error_args)
        elif isinstance(error, builtins.ConnectionRefusedError):
            self.sio.refuse(socket, {"message": "Connection refused by server"})  # python-socketio's words
        elif error is not None or result is False:
            self.sio.refuse(socket, {"message": "Connection rejected by server"})
        else:
            self._accept(socket)

    def _accept(self, socket: SioSocket) -> None:
        metrics = self.core.metrics
        if metrics is not None:
            metrics.connects[socket.namespace] += 1
        self.sio.accept(socket)

    def handle_event(self, socket: SioSocket, event: str, args: list[Any], ack_id: int | None) -> None:
        metrics = self.core.metrics
        if metrics is not None:
            metrics.received[(socket.namespace, metrics.event(event))] += 1
        target = self.table.find(socket.namespace, event)
        if target is None:
            log.debug("no handler for event %r on %s", event, socket.namespace)
            return
        call_args = (*target.prefix, *args) if target.prefix else tuple(args)
        done = None if ack_id is None else Answer(self.sio, ack_id)
        info = {"message": target.message, "args": call_args}
        self._run(socket, info, target.fn, target.is_async, call_args, done)

    def handle_ack(self, socket: SioSocket, callback: Handler, args: list[Any]) -> None:
        self.run_callback(callback, args)

    def handle_disconnect(self, socket: SioSocket, reason: str) -> None:
        metrics = self.core.metrics
        if metrics is not None:
            metrics.disconnects[(socket.namespace, reason)] += 1
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
        if state is None:  # recovered from another process's session, its connect handler skipped
            state = socket.state = SocketState()
        if serial and not self.options["async_handlers"]:
            if state.busy:
                if state.queue is None:
                    state.queue = deque()
                state.queue.append(job)
                return
            state.busy = True
        self._start(job)

    def _start(self, job: Job) -> None:
        """Start a handler once the loop has read what came in: ``def`` ones in the pool, ``async def``
        ones on the loop, each kind in one batch per loop iteration."""
        state: SocketState | None = job[0].state
        if state is not None and state.activity is not None:
            state.activity.begin()
        batch = self._async_batch if job[3] else self._sync_batch
        batch.append(job)
        if len(batch) == 1:
            self.loop.call_soon(self._run_async_batch if job[3] else self._submit_sync)

    def _run_async_batch(self) -> None:
        """Run the ``async def`` handlers of the events read in one loop iteration, one after another.

        The loop reads every ready connection first, then runs the handlers, rather than
        running each handler as its event is parsed: one stage at a time keeps the
        processor's caches on one stretch of code (echo50 47k -> 57k acks/s, binary 20k
        -> 37k, realistic 34k -> 46k, polling 13k -> 19k: the harness, one run each).

        Each handler runs up to its first real wait in a context of its own.  Most never
        wait; they finish here without a Task.  One that waits continues in a Task created
        with the same context (what Python 3.12's eager tasks do).
        """
        batch, self._async_batch = self._async_batch, []
        for job in batch:
            coro = self._run_async(*job)
            context = contextvars.copy_context()
            try:
                awaited = context.run(coro.send, None)
            except StopIteration:
                continue
            except Exception:  # not the handler's (that is handled): the machinery's, for one event
                log.exception("error running a handler")
                continue
            self.loop.create_task(continue_coroutine(coro, awaited), context=context)

    def _submit_sync(self) -> None:
        """Hand the ``def`` handlers started in one loop iteration to the pool together.

        Waking a worker preempts the loop thread, and the worker then waits for the GIL
        the loop holds: a wake-up per event made two context switches per event.  Handed
        over after the loop's other callbacks, the worker takes the whole batch in one
        turn (echo50 with def handlers, with the pool's one queue: 19.3k -> 39.0k acks/s,
        bench/before_after.py; the queue alone gave 1.05x).
        """
        batch, self._sync_batch = self._sync_batch, []
        submit, run = self.pool.submit, self._run_sync
        for job in batch:
            submit(run, *job)

    def _finished(self, socket: SioSocket, done: Done | None, result: Any, error: BaseException | None) -> None:
        """On the loop, after a handler: its continuation, then the socket's next queued handler."""
        if done is not None:
            try:
                done(socket, result, error)
            except Exception as exc:  # an answer that cannot be sent (not JSON): this event's error, not the next's
                self._answer_failed(socket, exc)
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

    def _answer_failed(self, socket: SioSocket, exc: Exception) -> Exception:
        """A handler's answer that cannot be sent: logged, and raised by a test client (as Flask-SocketIO's)."""
        log.error("error answering an event of %s", socket.sid, exc_info=exc)
        state: SocketState | None = socket.state
        if state is not None and state.activity is not None:
            state.activity.error = exc
        return exc

    def _run_sync(
        self,
        socket: SioSocket,
        info: EventInfo | None,
        fn: Handler,
        is_async: bool,
        args: tuple[Any, ...],
        done: Done | None,
    ) -> None:
        result, error = self._call_in_context(socket, info, fn, args)
        if error is None and type(done) is Answer:
            try:  # here, where the handler returned it: the client gets the value it had then
                result = done.encode(result)
            except Exception as exc:
                error = self._answer_failed(socket, exc)
        state: SocketState | None = socket.state
        if done is not None or (state is not None and state.busy):
            self.core.call_in_loop(self._finished, socket, done, result, error)
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
        metrics = self.core.metrics
        started = time.perf_counter() if metrics is not None else 0.0
        with self._context(socket, info) as context:
            try:
                result, error = await fn(*args), None
            except Exception as exc:
                result, error = self._handle_error(socket, info, exc, fn)
                context.error = error
            else:
                if context.saves_session:
                    context.handler_returned()
        if metrics is not None:
            metrics.handler_took(socket.namespace, time.perf_counter() - started)
        self._finished(socket, done, result, error)

    def _call_in_context(
        self, socket: SioSocket, info: EventInfo | None, fn: Handler, args: tuple[Any, ...]
    ) -> tuple[Any, BaseException | None]:
        metrics = self.core.metrics
        started = time.perf_counter() if metrics is not None else 0.0
        with self._context(socket, info) as context:
            try:
                result = fn(*args)
            except Exception as exc:
                result, context.error = self._handle_error(socket, info, exc, fn)
                return result, context.error
            finally:
                if metrics is not None:
                    metrics.handler_took(socket.namespace, time.perf_counter() - started)
            if context.saves_session:
                context.handler_returned()
            return result, None

    def _context(self, socket: SioSocket, info: EventInfo | None) -> Any:
        """A Flask request context for a handler of ``socket``, with the managed session (surge.flask_context)."""
        app = self.app
        assert app is not None
        state: SocketState | None = socket.state
        if state is None:
            return HandlerContext.prototype(app, socket).for_call(info)
        if state.context is None:
            context = HandlerContext.prototype(app, socket)
            if self.options["manage_session"]:
                # Load the cookie session once; the handlers of every namespace of the connection share
                # this copy from then on, kept where Flask-SocketIO keeps it (socketio.server.environ).
                environ = socket.environ
                managed = environ.get(SAVED_SESSION)
                if managed is None:
                    managed = environ[SAVED_SESSION] = ManagedSession(context.open_session() or {})
                context.use_session(managed)
            else:
                context.saves_session = True  # Flask's own session, opened and saved by each handler
            state.context = context
        return state.context.for_call(info)

    def _handle_error(
        self, socket: SioSocket, info: EventInfo | None, exc: Exception, fn: Handler
    ) -> tuple[Any, BaseException | None]:
        """Route a handler's exception to ``on_error``, then to its class-based namespace's ``error``
        method if the error handler raised it again or there is none (Flask-SocketIO's order); the
        return value of the one that took it answers as the handler's would.

        Returns ``(result, error)``: the error is ``None`` once an error handler took it.
        """
        if isinstance(exc, ConnectionRefusedError):
            return None, exc
        handler = self.registry.exception_handlers.get(socket.namespace, self.registry.default_exception_handler)
        owner = getattr(fn, "__self__", None)
        last_resort = owner.error if isinstance(owner, Namespace) and hasattr(owner, "error") else None
        where = "handler"
        if handler is not None:
            try:
                return handler(exc), None
            except Exception as handler_exc:
                exc, where = handler_exc, "the error handler"
        if last_resort is not None:
            try:
                return last_resort(exc), None
            except Exception as error_exc:
                exc, where = error_exc, "the namespace's error method"
        if isinstance(exc, builtins.ConnectionRefusedError) and info is not None and info["message"] == "connect":
            return None, exc  # python-socketio refuses the connection for it
        state: SocketState | None = socket.state
        if state is not None and state.activity is not None:
            state.activity.error = exc  # a test client raises it, as Flask-SocketIO's does
        log.error(
            "error in %s for event %r (sid %s, namespace %s)",
            where,
            info and info["message"],
            socket.sid,
            socket.namespace,
            exc_info=exc,
        )
        return None, exc

    # -- loop plumbing ------------------------------------------------------------------------

    def run_callback(self, callback: Handler, args: list[Any]) -> None:
        """A client's ack (of this process or another): run the emit's callback.

        As in Flask-SocketIO, a callback given to an emit made in a handler runs in
        the request context of that handler's client (``request.sid`` is the emitter),
        and not at all once that client is gone; any other runs in a worker with an
        app context.
        """
        if self.core.metrics is not None:  # a round trip the metrics time (surge.metrics.TimedAck)
            answered = getattr(callback, "answered", None)
            if answered is not None:
                callback = answered()
        if getattr(callback, "runs_on_loop", False):
            callback(*args)
            return
        if isinstance(callback, EmitterCallback):
            socket = self.sio.sockets.get(callback.sid)
            if socket is not None and socket.namespace == callback.namespace:
                fn = callback.fn
                call_args = tuple(args)
                info = {"message": None, "args": call_args}
                self._run(socket, info, fn, inspect.iscoroutinefunction(fn), call_args, None, serial=False)
            return
        if inspect.iscoroutinefunction(callback):
            self.loop.create_task(callback(*args))
            return
        self.pool.submit(self._call_with_app_context, callback, args)

    def _call_with_app_context(self, callback: Handler, args: list[Any]) -> None:
        with self.app.app_context():
            callback(*args)


class EmitterCallback:
    """An emit's callback with the handler's client that emitted, whose context it runs in."""

    __slots__ = ("fn", "namespace", "sid")

    def __init__(self, fn: Handler, sid: str, namespace: str) -> None:
        self.fn = fn
        self.sid = sid
        self.namespace = namespace

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


class Answer:
    """A client's ack request: the handler's return value answers it (a tuple is several arguments)."""

    __slots__ = ("ack_id", "sio")

    def __init__(self, sio: SioServer, ack_id: int) -> None:
        self.sio = sio
        self.ack_id = ack_id

    def encode(self, result: Any) -> EncodedArgs:
        """The answer encoded, on the thread the handler ran on."""
        return self.sio.encode_args([] if result is None else list(result) if isinstance(result, tuple) else [result])

    def __call__(self, socket: SioSocket, result: Any, error: BaseException | None) -> None:
        if error is None:
            self.sio.send_ack(socket, self.ack_id, result if type(result) is EncodedArgs else self.encode(result))
