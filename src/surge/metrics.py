"""Prometheus metrics of a running server (front layer): ``SocketIO(app, metrics=True)`` serves ``/metrics``.

The hot path keeps plain counts, bumped on the loop thread (events received and
emitted, connects, disconnects) or under one lock (handler durations, from
worker threads), and everything is turned into Prometheus metrics when
scraped: ``prometheus_client``'s own counters cost 0.6 µs an increment and its
histograms 1.3 µs an observation (measured), which an echo at 30,000 a second
notices.  What describes the server's state (connected clients by namespace and
transport, the worker pool, congested clients, the recovery log) is read on
the loop thread when scraped too.  Event names come from clients, so at most
``MAX_EVENT_NAMES`` of them get series of their own; the others count as
``"_other"``.  With ``workers=N`` (or gunicorn's ``-w N``) a scrape reaches one
worker, which asks the others for their counts over their bus and answers with
the sums: one server, as the clients see it.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    import asyncio

    from surge.engine.traffic import Traffic
    from surge.queue.backends import PubSub
    from surge.runtime.flow import FlowControl
    from surge.runtime.pool import WorkerPool
    from surge.server.core import SioServer

T = TypeVar("T")
Snapshot = dict[str, Any]  # what Metrics.snapshot returns: JSON, so that workers can send it to each other
MAX_EVENT_NAMES = 100
OTHER = "_other"
PATH = "/metrics"
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Served(Protocol):
    """What the metrics read of the server core (surge.core.ServerCore, which imports this module)."""

    sio: SioServer | None
    loop: asyncio.AbstractEventLoop | None
    pool: WorkerPool | None
    flow: FlowControl | None
    queue: PubSub | None

    def read_on_loop(self, read: Callable[[], T]) -> T: ...

    def other_workers_metrics(self) -> list[Snapshot]:
        """The snapshots of this machine's other workers (none without workers=N)."""

    def traffic(self) -> Traffic:
        """The engine's traffic counts (loop thread)."""


class Histogram:
    """Counts per bucket of BUCKETS (and over), and the sum, of one series."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    def as_list(self) -> list[float]:
        return [*self.counts, self.total]


class TimedAck:
    """An emit's ack callback, and when the emit went out: the ack's round trip (surge.dispatch ends it)."""

    __slots__ = ("inner", "metrics", "started")

    def __init__(self, inner: Callable[..., Any], metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.started = time.perf_counter()

    def answered(self) -> Callable[..., Any]:
        """The client acked (loop thread): the round trip is counted; returns the callback to run."""
        self.metrics.acks.observe(time.perf_counter() - self.started)
        return self.inner

    def __call__(self, *args: Any) -> Any:
        return self.answered()(*args)

    def cancel(self) -> None:
        cancel = getattr(self.inner, "cancel", None)
        if cancel is not None:
            cancel()


class Metrics(Collector):
    """The counts of one server; a WSGI app answering with them (``socketio.metrics_app()``)."""

    def __init__(self, core: Served) -> None:
        self.core = core
        self.connects: Tally[str] = Tally()  # namespace ->   (loop thread, as the next three)
        self.disconnects: Tally[tuple[str, str]] = Tally()  # (namespace, reason) ->
        self.received: Tally[tuple[str, str]] = Tally()  # (namespace, event(name)) ->
        self.emitted: Tally[tuple[str, str]] = Tally()
        self.published = 0
        self.from_queue = 0
        self.acks = Histogram()  # server -> client ack round trips (loop thread)
        self.queue_waits = Histogram()  # how long messages waited to be published (loop thread)
        self._durations: dict[str, Histogram] = {}  # namespace -> handler durations (any thread, under the lock)
        self._durations_lock = threading.Lock()
        self._names: set[str] = set()
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def event(self, name: str) -> str:
        """``name`` as a label: one of the first MAX_EVENT_NAMES seen, or OTHER (loop thread)."""
        if name in self._names:
            return name
        if len(self._names) < MAX_EVENT_NAMES:
            self._names.add(name)
            return name
        return OTHER

    def handler_took(self, namespace: str, seconds: float) -> None:
        """A handler's duration (any thread)."""
        with self._durations_lock:
            histogram = self._durations.get(namespace)
            if histogram is None:
                histogram = self._durations[namespace] = Histogram()
            histogram.observe(seconds)

    def timed(self, callback: Callable[..., Any]) -> TimedAck:
        """``callback``, timed from now until the client's ack."""
        return TimedAck(callback, self)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = generate_latest(self.registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    # -- scraped -------------------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        core = self.core
        if core.sio is None or core.loop is None:
            return
        state = merge([core.read_on_loop(self.snapshot), *core.other_workers_metrics()])
        counters = (
            ("surge_connects", "Sockets connected to a namespace", ["namespace"], state["connects"]),
            ("surge_disconnects", "Sockets disconnected, by reason", ["namespace", "reason"], state["disconnects"]),
            ("surge_events_received", "Events received from clients", ["namespace", "event"], state["received"]),
            ("surge_events_emitted", "Events emitted by the server", ["namespace", "event"], state["emitted"]),
        )
        for name, documentation, labels, rows in counters:
            family = CounterMetricFamily(name, documentation, labels=labels)
            for *key, count in rows:
                family.add_metric(key, count)
            yield family
        yield CounterMetricFamily("surge_queue_published", "Messages published to the queue", value=state["published"])
        yield CounterMetricFamily("surge_queue_received", "Messages received from the queue", value=state["from_queue"])
        packets_in, packets_out, bytes_in, bytes_out = state["traffic"]
        for name, documentation, value in (
            ("surge_packets_received", "Engine.IO packets received from clients", packets_in),
            ("surge_packets_sent", "Engine.IO packets sent to clients", packets_out),
            ("surge_bytes_received", "Bytes of Engine.IO packets received from clients", bytes_in),
            ("surge_bytes_sent", "Bytes of Engine.IO packets sent to clients", bytes_out),
        ):
            yield CounterMetricFamily(name, documentation, value=value)
        yield _histogram("surge_handler_duration_seconds", "Time in event handlers", state["durations"], "namespace")
        yield _histogram("surge_ack_round_trip_seconds", "From an emit to the client's ack", {"": state["acks"]})
        if state["queue_pending"] is not None:
            yield _histogram(
                "surge_queue_publish_wait_seconds",
                "How long a message waited to be published (longer while the queue is away)",
                {"": state["queue_waits"]},
            )
            yield GaugeMetricFamily(
                "surge_queue_pending", "Messages waiting to be published", value=state["queue_pending"]
            )
        connected = GaugeMetricFamily(
            "surge_connected_clients", "Sockets connected now", labels=["namespace", "transport"]
        )
        for namespace, transport, count in state["clients"]:
            connected.add_metric([namespace, transport], count)
        yield connected
        size, busy, queued = state["pool"]
        yield GaugeMetricFamily("surge_worker_threads", "Threads of the worker pool (def handlers)", value=size)
        yield GaugeMetricFamily("surge_worker_threads_busy", "Worker threads running a handler now", value=busy)
        yield GaugeMetricFamily("surge_handlers_queued", "Handlers waiting for a worker thread", value=queued)
        yield GaugeMetricFamily(
            "surge_congested_clients", "Clients over max_write_buffer of unread output", value=state["congested"]
        )
        yield CounterMetricFamily(
            "surge_slow_clients_dropped", "Clients dropped for leaving their output unread", value=state["dropped"]
        )
        if state["log_bytes"] is not None:
            yield GaugeMetricFamily(
                "surge_recovery_log_bytes",
                "Bytes of events kept for connection state recovery",
                value=state["log_bytes"],
            )

    def snapshot(self) -> Snapshot:
        """The counts and the server's state, on the loop thread, as JSON-able data."""
        sio = self.core.sio
        assert sio is not None
        clients: Tally[tuple[str, str]] = Tally()
        for socket in sio.sockets.values():
            if socket.connected:
                clients[(socket.namespace, str(socket.client.conn.transport))] += 1
        flow, pool, traffic = self.core.flow, self.core.pool, self.core.traffic()
        with self._durations_lock:
            durations = {ns: histogram.as_list() for ns, histogram in self._durations.items()}
        return {
            "connects": [[ns, n] for ns, n in self.connects.items()],
            "disconnects": _rows(self.disconnects),
            "received": _rows(self.received),
            "emitted": _rows(self.emitted),
            "published": self.published,
            "from_queue": self.from_queue,
            "clients": _rows(clients),
            "pool": [pool.size, pool.busy, pool.queued] if pool is not None else [0, 0, 0],
            "congested": flow.congested_count() if flow is not None else 0,
            "dropped": flow.dropped if flow is not None else 0,
            "log_bytes": sio.recovery.size if sio.recovery is not None else None,
            "traffic": [traffic.packets_in, traffic.packets_out, traffic.bytes_in, traffic.bytes_out],
            "durations": durations,
            "acks": self.acks.as_list(),
            "queue_waits": self.queue_waits.as_list(),
            "queue_pending": len(queue.outbox.pending) if (queue := self.core.queue) is not None else None,
        }


def _rows(tally: Tally[tuple[str, str]]) -> list[list[Any]]:
    return [[*key, count] for key, count in tally.items()]


ROWS = ("connects", "disconnects", "received", "emitted", "clients")
VECTORS = ("pool", "traffic", "acks", "queue_waits")


def merge(snapshots: list[Snapshot]) -> Snapshot:
    """One snapshot: the sums of ``snapshots`` (the workers of one machine), rows sorted by their labels."""
    merged: Snapshot = {}
    for name in ROWS:
        sums: Tally[tuple[str, ...]] = Tally()
        for snapshot in snapshots:
            for *key, count in snapshot[name]:
                sums[tuple(key)] += count
        merged[name] = [[*key, count] for key, count in sorted(sums.items())]
    for name in VECTORS:
        merged[name] = [sum(values) for values in zip(*(s[name] for s in snapshots), strict=True)]
    durations: dict[str, list[float]] = {}
    for snapshot in snapshots:
        for namespace, histogram in snapshot["durations"].items():
            old = durations.get(namespace)
            durations[namespace] = histogram if old is None else [a + b for a, b in zip(old, histogram, strict=True)]
    merged["durations"] = durations
    for name in ("published", "from_queue", "congested", "dropped", "log_bytes", "queue_pending"):
        values = [s[name] for s in snapshots if s[name] is not None]
        merged[name] = sum(values) if values else None
    return merged


def _histogram(name: str, documentation: str, series: dict[str, list[float]], label: str = "") -> Metric:
    """A histogram family; ``series`` (bucket counts, then the sum: Histogram.as_list) by ``label``
    value (one unlabelled series: ``{"": ...}``)."""
    family = HistogramMetricFamily(name, documentation, labels=[label] if label else None)
    for value, histogram in sorted(series.items()):
        cumulative, buckets = 0.0, []
        for bound, count in zip((*BUCKETS, float("inf")), histogram[:-1], strict=True):
            cumulative += count
            buckets.append((_bound(bound), cumulative))
        family.add_metric([value] if label else [], buckets, histogram[-1])
    return family


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class MetricsMiddleware:
    """A WSGI app with ``/metrics`` answered first (``SocketIO(app, metrics=True)``)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], metrics: Metrics) -> None:
        self.inner_app = app
        self.metrics = metrics

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH:
            return self.metrics(environ, start_response)
        return self.inner_app(environ, start_response)
