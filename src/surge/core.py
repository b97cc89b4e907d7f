"""The server core behind a ``SocketIO`` (front layer): one assembly, whatever serves it.

:class:`ServerCore` owns the event loop it runs on, the worker pool, the
Engine.IO server, the Socket.IO server, the cluster (and its message queue)
and the flow control of emitting threads.  Every front starts it the same way,
with :meth:`ServerCore.start` on the loop that will run it: the built-in
server (:meth:`ServerCore.serve`), the ASGI adapter, the test client.  It is
also where operations hop onto the loop thread from any other thread.

``SocketIO`` (surge.flask) is the Flask-SocketIO face over it; which handler
runs for an event, and how, is :class:`~surge.dispatch.Dispatcher`'s job.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from surge import machine_metrics, shared_recovery
from surge import options as options_module
from surge.dispatch import Dispatcher, Registry
from surge.engine.traffic import Traffic
from surge.errors import DisconnectedError
from surge.handlers import Activity
from surge.machine_metrics import MachineMetrics
from surge.protocol import sio as sio_codec
from surge.queue import backends, messages
from surge.queue.messages import CLOSE_ROOM, ENTER_ROOM, Kind, QueueMessage
from surge.queue.worker_bus import WorkerBus
from surge.runtime import handoff
from surge.runtime.engine import EngineServer
from surge.runtime.flow import EmitGate, FlowControl
from surge.runtime.inbox import LoopInbox
from surge.runtime.pool import WorkerPool
from surge.runtime.server import HttpServer, new_event_loop, serve
from surge.runtime.wsgi import WSGIApp, WsgiRunner
from surge.server.cluster import Cluster, target_tuple
from surge.server.core import SioServer
from surge.server.recovery import Recovery

if TYPE_CHECKING:
    import socket
    from pathlib import Path
    from ssl import SSLContext

    from surge.metrics import Metrics, Snapshot
    from surge.queue.peer_bus import PeerBus
    from surge.queue.redis_sessions import RedisSessions
    from surge.supervisor import WorkerSlot

log = logging.getLogger("surge")
T = TypeVar("T")

# Emits that threads may have handed to the loop and the loop has not yet made.
EMITS_IN_FLIGHT = 64
NOT_RUNNING = "the Socket.IO server is not running; call socketio.run(app)"


class ServerCore:
    """Loop, pool, engine, Socket.IO server, cluster and queue of one ``SocketIO``."""

    def __init__(self, app: Any, options: dict[str, Any], registry: Registry) -> None:
        self.app = app
        self.options = options
        self.dispatcher = Dispatcher(self, registry)
        self.dumps, self.loads = options_module.json_functions(options["json"], app)  # encode and decode packets
        self.loop: asyncio.AbstractEventLoop | None = None
        self.loop_thread: int | None = None
        self.pool: WorkerPool | None = None
        self.sio: SioServer | None = None
        self.engine: EngineServer | None = None
        self.cluster: Cluster | None = None
        self.flow: FlowControl | None = None
        self.node = secrets.token_hex(8)  # this process on the message queue
        self.queue: backends.PubSub | None = None
        self.sessions: RedisSessions | None = None  # connection state recovery across processes
        self.activities: dict[str, Activity] = {}  # test clients: Engine.IO sid -> their handlers at work
        self._publisher: backends.Publisher | None = None
        self._stop: asyncio.Event | None = None
        self._in_flight = threading.BoundedSemaphore(EMITS_IN_FLIGHT)
        self._inbox: LoopInbox | None = None  # calls from other threads for the loop thread
        self._room_count_lock = threading.Lock()
        self._room_changes_queued = 0  # room operations handed to the loop and not yet made there
        self._start_lock = threading.Lock()
        self._told_not_running = False
        self._bridge: HttpServer | None = None
        self.worker: WorkerSlot | None = None  # workers=N: this process is one of them (surge.supervisor)
        self.worker_bus: WorkerBus | None = None
        self.machine_bus: WorkerBus | PeerBus | None = None  # this machine's workers (either bus)
        self.machine_metrics: MachineMetrics | None = None
        self.metrics: Metrics | None = None
        if options.get("metrics"):
            try:
                from surge.metrics import Metrics
            except ImportError as exc:
                raise ImportError("metrics=True needs prometheus_client: pip install 'surge[metrics]'") from exc
            self.metrics = Metrics(self)

    # -- the one assembly ---------------------------------------------------------------------

    def running_loop(self, websocket: bool = True) -> asyncio.AbstractEventLoop:
        """The core's loop; when nothing runs it yet, the core is started on a daemon thread of its own.

        For fronts that run no loop themselves: the test client, a WSGI server
        (``websocket=False``: such a session is offered no upgrade).
        """
        with self._start_lock:
            if self.loop is not None and self.engine is not None:
                return self.loop
            ready = threading.Event()
            loop = new_event_loop()

            def run() -> None:
                asyncio.set_event_loop(loop)
                self.start(loop, websocket)
                ready.set()
                loop.run_forever()

            threading.Thread(target=run, name="surge-loop", daemon=True).start()
            ready.wait()
            return loop

    def wsgi_bridge(self, websocket: bool) -> tuple[Callable[..., None], HttpServer]:
        """The core as a WSGI server's requests find it (surge.runtime.wsgi_bridge): running on a
        loop thread of its own, with a server that listens nowhere for the WebSockets taken over."""
        loop = self.running_loop(websocket)
        with self._start_lock:
            if self._bridge is None or self._bridge.loop is not loop:
                assert self.engine is not None
                self._bridge = HttpServer(
                    loop,
                    self.engine,
                    None,
                    path=self.options["path"],
                    request_timeout=self.options["request_timeout"],
                    max_write_buffer=self.options["max_write_buffer"],
                    flow=self.flow,
                )
            return self.call_in_loop, self._bridge

    def start(self, loop: asyncio.AbstractEventLoop, websocket: bool = True) -> EngineServer:
        """Build the server on ``loop``, which runs in the calling thread; returns its Engine.IO server."""
        opts = self.options
        self.loop = loop
        self.loop_thread = threading.get_ident()
        self._inbox = LoopInbox(loop)
        self.node = secrets.token_hex(8)  # anew: the workers forked from one process must differ
        self.pool = WorkerPool(max_workers=opts["max_workers"])
        recovery_options = options_module.recovery(opts["connection_state_recovery"])
        self.sio = SioServer(
            self.dispatcher,
            max_attachments=opts["max_attachments"],
            always_connect=opts["always_connect"],
            dumps=self.dumps,
            loads=self.loads,
            trace=bool(opts["logger"]),
            recovery=Recovery(loop.time, **recovery_options) if recovery_options is not None else None,
        )
        worker = self.worker
        if worker is not None and worker.peers is not None:  # gunicorn's workers (surge.peers)
            from surge.queue.peer_bus import PeerBus

            self.machine_bus = PeerBus(worker.peers, worker.index, worker.bus, self._queue_received)
        elif worker is not None:
            # The bus to the supervisor carries the heartbeat; and, with no message queue, the cluster.
            self.machine_bus = self.worker_bus = WorkerBus(worker.bus, worker.workers, self._queue_received)
        if self.machine_bus is not None:
            loop.call_soon(self.machine_bus.start)
            if self.metrics is not None:
                self.machine_metrics = MachineMetrics(self.machine_bus, self.metrics.snapshot)
            if opts["message_queue"] is None:
                self.queue = self.machine_bus
        if opts["message_queue"]:
            self.queue = backends.pubsub(
                opts["message_queue"], opts["channel"], self._queue_received, bool(opts["redis_streams"])
            )
            if self.metrics is not None:
                self.queue.outbox.waited = self.metrics.queue_waits.observe
            loop.call_soon(self.queue.start)
        self.dispatcher.attach(loop, self.pool, self.sio)
        publish: Callable[[bytes], None] | None = self.queue.publish if self.queue else None
        if publish is not None and self.metrics is not None:
            publish = _counted(publish, self.metrics)
        assert self.sio is not None
        stream, self.sessions = shared_recovery.wire(
            self.sio, self.queue, self.worker_bus, self.node, opts, self._queue_received
        )
        if self.sessions is not None:
            loop.call_soon(self.sessions.start)
        self.cluster = Cluster(self.sio, self.node, publish, self.dispatcher.run_callback, stream is not None)
        if stream is not None:
            stream.backfill = self.cluster.backfill
        ping_interval, ping_grace = options_module.ping_interval(opts["ping_interval"])
        self.engine = EngineServer(
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
            allow_upgrades=opts["allow_upgrades"] and websocket,
            cookie=opts["cookie"],
            trace=bool(opts["engineio_logger"]),
        )
        self.flow = FlowControl(loop, ping_interval + opts["ping_timeout"], opts["max_write_buffer"])
        if worker is not None:
            self.engine.sid_prefix = handoff.tag(worker.index)
        if self.metrics is not None:
            self.engine.traffic = Traffic()
        admin = self.dispatcher.registry.admin
        if admin is not None:
            admin.start(self)
        return self.engine

    def serve(
        self,
        wsgi_app: WSGIApp | None,
        host: str,
        port: int,
        client_js: Path | None = None,
        on_started: Callable[[HttpServer], None] | None = None,
        ssl: SSLContext | None = None,
        sockets: list[socket.socket] | None = None,
    ) -> None:
        """Run the built-in server in this thread until :meth:`stop` or a signal (over TLS with ``ssl``;
        on listening ``sockets`` made elsewhere instead of ``host:port`` when given)."""
        loop = new_event_loop()
        engine = self.start(loop)
        assert self.pool is not None and self._inbox is not None
        opts = self.options
        http = HttpServer(
            loop,
            engine,
            WsgiRunner(wsgi_app, self.pool, self._inbox) if wsgi_app is not None else None,
            path=opts["path"],
            host=host,
            port=port,
            client_js=client_js,
            request_timeout=opts["request_timeout"],
            max_connections=opts["max_connections"],
            max_write_buffer=opts["max_write_buffer"],
            flow=self.flow,
            ssl=ssl,
            sockets=sockets,
        )
        router = None
        if self.worker is not None:
            peers = self.worker.peers
            address_of = None if peers is None else (lambda owner: str(peers / f"handoff-{owner}.sock"))
            http.router = router = handoff.WorkerRouter(
                self.worker.index, self.worker.workers, self.worker.handoff, http.adopt, address_of
            )
            router.start(loop, http.path)
        self._stop = asyncio.Event()
        try:
            serve(loop, http, on_started=on_started, stop_event=self._stop)
            if router is not None:
                log.info("worker %d handed %d connection(s) over and adopted %d", router.index, *router.counts())
        finally:
            self.pool.shutdown()
            if self.queue is not None:
                loop.run_until_complete(self.queue.close())
                self.queue = None
            if self.sessions is not None:
                loop.run_until_complete(self.sessions.close())
                self.sessions = None
            loop.close()
            self.loop = None
            self.sio = None
            self.cluster = None

    def traffic(self) -> Traffic:
        """The engine's traffic counts (loop thread; counted when metrics or the Admin UI read them)."""
        assert self.engine is not None and self.engine.traffic is not None
        return self.engine.traffic

    def stop(self) -> None:
        """Stop the server :meth:`serve` runs (from a handler or another thread)."""
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)

    # -- the loop thread ------------------------------------------------------------------------

    def track_handlers(self, eio_sid: str, activity: Activity) -> None:
        """Count the handlers at work for the Engine.IO session ``eio_sid`` (the test client waits on them)."""
        self.activities[eio_sid] = activity

    def _not_running(self, operation: str) -> None:
        """An emit or room operation reaching nobody, as in Flask-SocketIO; said once, at WARNING."""
        if not self._told_not_running:
            self._told_not_running = True
            log.warning("%s while the Socket.IO server is not running yet: no client is connected to get it", operation)

    def require_running(self) -> Cluster:
        """The cluster, which every server operation goes through; a clear error if nothing runs."""
        if self.cluster is None:
            raise RuntimeError(NOT_RUNNING)
        return self.cluster

    def call_in_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop thread: inline there, handed over (in order) from elsewhere."""
        if self.loop is None or self._inbox is None:
            raise RuntimeError(NOT_RUNNING)
        if threading.get_ident() == self.loop_thread:
            fn(*args)
            return
        self._inbox.put(fn, args)

    def read_on_loop(self, read: Callable[[], T]) -> T:
        """``read()`` on the loop thread (inline there), for a consistent view of the server's state."""
        loop = self.loop
        if loop is None:
            raise RuntimeError(NOT_RUNNING)
        if threading.get_ident() == self.loop_thread:
            return read()

        async def on_loop() -> T:
            return read()

        return asyncio.run_coroutine_threadsafe(on_loop(), loop).result()

    def server(self) -> SioServer:
        """The Socket.IO server (loop thread)."""
        if self.sio is None:
            raise RuntimeError(NOT_RUNNING)
        return self.sio

    # -- emitting -----------------------------------------------------------------------------------

    def emit(
        self,
        event: str,
        args: tuple[Any, ...],
        namespace: str,
        to: Any,
        skip: list[str],
        callback: Callable[..., Any] | None,
    ) -> None:
        """Emit from any thread; with no server but a message queue, publish (a write-only emitter).

        The data is encoded here, on the calling thread, before anything else: the client gets
        the value at the call, and what is not JSON raises ``TypeError`` here.
        """
        data = sio_codec.encode_args([event, *args], self.dumps)
        to = to if to is None or isinstance(to, str) else list(to)  # the caller's list may change after the call
        if self.loop is None and self._write_only_publisher() is not None:
            if callback is not None:
                raise ValueError("a write-only emitter cannot receive acks")
            self._publish_directly(Kind.EMIT, namespace, to=to, skip=skip, data=data)
            return
        cluster = self.cluster
        if cluster is None:
            self._not_running("emit")
            return
        if callback is not None and self.metrics is not None:
            callback = self.metrics.timed(callback)
        if threading.get_ident() == self.loop_thread:
            if self.metrics is not None:
                self.metrics.emitted[(namespace, self.metrics.event(event))] += 1
            cluster.emit(data, namespace, to, skip, callback)
            return
        # Flow control for emitting threads: a bounded number of emits in flight to the
        # loop, and a thread whose emit reached a client over max_write_buffer waits
        # until that client drains (surge.runtime.flow), so a handler that emits
        # faster than its clients read cannot grow memory.
        assert self.flow is not None
        gate = self.flow.gate()
        gate.wait()
        self._in_flight.acquire()
        self.call_in_loop(self._emit_in_loop, gate, event, data, namespace, to, skip, callback)

    def _emit_in_loop(self, gate: EmitGate, event: str, data: sio_codec.EncodedArgs, *target: Any) -> None:
        """On the loop: the emit of another thread; ``target`` is (namespace, to, skip, callback)."""
        flow = self.flow
        assert flow is not None
        if self.metrics is not None:
            self.metrics.emitted[(target[0], self.metrics.event(event))] += 1
        flow.emitting = gate
        try:
            self.require_running().emit(data, *target)
        finally:
            flow.emitting = None
            self._in_flight.release()

    def call(self, event: str, args: tuple[Any, ...], namespace: str, to: str, timeout: float) -> Any:
        """Emit to one client and wait (in this thread) for its ack; see ``SocketIO.call``."""
        if self.loop is not None and threading.get_ident() == self.loop_thread:
            raise RuntimeError("call() would block the event loop; use it from a def handler or a thread")
        data = sio_codec.encode_args([event, *args], self.dumps)
        waiter = _AckWaiter()
        callback: Callable[..., Any] = waiter if self.metrics is None else self.metrics.timed(waiter)
        self.call_in_loop(self.require_running().emit, data, namespace, to, (), callback)
        if not waiter.ready.wait(timeout):
            raise TimeoutError(f"no answer to {event!r} within {timeout} s")
        if waiter.answer is None:
            raise DisconnectedError(f"client {to} disconnected before answering {event!r}")
        answer = waiter.answer
        if not answer:
            return None
        return answer[0] if len(answer) == 1 else answer

    # -- rooms and cluster-wide operations ----------------------------------------------------------

    def room_operation(self, kind: str, namespace: str, sid: str = "", room: str = "") -> None:
        """enter_room / leave_room / disconnect of one sid, or close_room, here or where the client is.

        As python-socketio, no client enters another's personal room, and none is closed.
        """
        sio = self.sio
        on_loop = threading.get_ident() == self.loop_thread
        if kind == ENTER_ROOM and sio is not None and (on_loop or self._room_changes_queued == 0):
            # A handler joining its room at every event: nothing to change, nobody to tell.  So from a
            # def handler while no room change is on its way to the loop from any thread: none made
            # before this call is still to come, and this read is final (def realistic: -18% instructions).
            socket = sio.socket_here(sid, namespace)
            if socket is not None and room in socket.rooms:
                return
        if (kind == CLOSE_ROOM or (kind == ENTER_ROOM and room != sid)) and sio and sio.socket_here(room, namespace):
            raise ValueError(f"cannot {'close' if kind == CLOSE_ROOM else 'enter'} a sid room")
        if self.cluster is not None and on_loop:  # an async handler's
            self.cluster.room_operation(kind, namespace, sid, room)
        elif self.loop is None and self._write_only_publisher() is not None:
            self._publish_directly(kind, namespace, sid=sid, room=room)
        elif self.cluster is None:
            self._not_running(kind)
        else:
            self._queue_room_change(self.cluster.room_operation, kind, namespace, sid, room)

    def _queue_room_change(self, fn: Callable[..., Any], *args: Any) -> None:
        """Hand a change of rooms to the loop, counted until it is made (room_operation reads the count)."""
        with self._room_count_lock:
            self._room_changes_queued += 1
        self.call_in_loop(self._make_room_change, fn, *args)

    def _make_room_change(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        finally:
            with self._room_count_lock:
                self._room_changes_queued -= 1

    def sockets_operation(self, kind: str, namespace: str, to: Any, room: str = "") -> None:
        """sockets_join / sockets_leave / disconnect_sockets, on every process."""
        if self.loop is None and self._write_only_publisher() is not None:
            self._publish_directly(kind, namespace, to=to, room=room)
            return
        if self.cluster is None:
            self._not_running(kind)
            return
        self._queue_room_change(self.cluster.sockets_operation, kind, namespace, target_tuple(to), room)

    def fetch_sockets(self, to: Any, namespace: str, timeout: float) -> list[dict[str, Any]]:
        if threading.get_ident() == self.loop_thread:
            raise RuntimeError("fetch_sockets() would block the event loop; await fetch_sockets_async()")
        loop = self.loop
        if loop is None:
            raise RuntimeError(NOT_RUNNING)
        return asyncio.run_coroutine_threadsafe(self.fetch_sockets_async(to, namespace, timeout), loop).result()

    async def fetch_sockets_async(
        self, to: Any, namespace: str, timeout: float, details: bool = False
    ) -> list[dict[str, Any]]:
        cluster = self.require_running()
        found = cluster.local_sockets(namespace, to, details)
        if self.queue is None:
            return found
        listening = await self.queue.subscribers()
        others = None if listening is None else listening - 1  # None: wait for answers until the timeout
        if others is not None and others <= 0:
            return found
        done = asyncio.get_running_loop().create_future()
        answers: list[list[dict[str, Any]]] = []

        def collect(sockets: list[dict[str, Any]]) -> None:
            answers.append(sockets)
            if others is not None and len(answers) >= others and not done.done():
                done.set_result(None)

        fetch_id = cluster.request_sockets(namespace, to, collect, details)
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            if others is not None:
                log.warning("fetch_sockets: %d of %d processes answered within %s s", len(answers), others, timeout)
        finally:
            cluster.fetches.pop(fetch_id, None)
        for sockets in answers:
            found.extend(sockets)
        return found

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> threading.Thread | None:
        if inspect.iscoroutinefunction(target):
            coro: Coroutine[Any, Any, Any] = target(*args, **kwargs)
            loop = self.loop
            if loop is None:
                raise RuntimeError(NOT_RUNNING)
            self.call_in_loop(loop.create_task, coro)
            return None
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
        thread.start()
        return thread

    def _queue_received(self, raw: bytes, seq: int | None = None) -> None:
        if raw[:1] == machine_metrics.FRAME:
            if self.machine_metrics is not None:
                self.machine_metrics.received(raw)
            return
        if self.metrics is not None:
            self.metrics.from_queue += 1
        if self.cluster is not None:
            self.cluster.received(raw, seq)

    # -- metrics of the whole machine (workers=N) -------------------------------------------------

    def other_workers_metrics(self) -> list[Snapshot]:
        """The other workers' metrics snapshots (any thread but the loop's; surge.machine_metrics)."""
        loop, machine = self.loop, self.machine_metrics
        if loop is None or machine is None:
            return []
        return asyncio.run_coroutine_threadsafe(machine.others(), loop).result()

    # -- the write-only emitter (no app, no server: a Celery worker, a cron script) ---------------

    def _write_only_publisher(self) -> backends.Publisher | None:
        url = self.options.get("message_queue")
        if url is None:
            return None
        if self._publisher is None:
            self._publisher = backends.publisher(url, self.options["channel"], bool(self.options["redis_streams"]))
        return self._publisher

    def _publish_directly(self, kind: str, namespace: str, **fields: Any) -> None:
        publisher = self._write_only_publisher()
        assert publisher is not None
        targets = target_tuple(fields.get("to"))
        if kind == Kind.EMIT:
            data: sio_codec.EncodedArgs = fields["data"]
            text = sio_codec.event_text(namespace, data)
            message = QueueMessage(
                Kind.EMIT, self.node, namespace, text, tuple(data.attachments), targets, tuple(fields["skip"])
            )
        else:
            message = QueueMessage(
                kind, self.node, namespace, to=targets, sid=fields.get("sid", ""), room=fields.get("room", "")
            )
        publisher.publish(messages.encode(message))


def _counted(publish: Callable[[bytes], None], metrics: Metrics) -> Callable[[bytes], None]:
    def counted(data: bytes) -> None:
        metrics.published += 1
        publish(data)

    return counted


def event_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """The arguments an emit's data stands for: a tuple is several, None is none (python-socketio's
    rule); more than one positional argument (a Surge extension) is each one argument."""
    if len(args) != 1:
        return args
    data = args[0]
    if data is None:
        return ()
    return tuple(data) if isinstance(data, tuple) else args


def skip_list(skip_sid: Any) -> list[str]:
    """``skip_sid`` (a sid, a list of them, or None) as a list."""
    return [skip_sid] if isinstance(skip_sid, str) else list(skip_sid or [])


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
