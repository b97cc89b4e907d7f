"""Connection state recovery across the processes of a cluster, wired at start (front layer).

With a Redis stream (``redis_streams=True``), or the bus of ``workers=N`` with
no message queue (which the supervisor then numbers, surge.queue.sequencer),
every process delivers every event in one order under one seq, and the
sessions live where every process reaches them (Redis: surge.queue.redis_sessions;
the supervisor: surge.queue.bus_sessions).  With other transports each
process recovers only its own clients.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from surge.queue.backends import PubSub
    from surge.queue.redis_sessions import RedisSessions
    from surge.queue.redis_streams import RedisStreams
    from surge.queue.worker_bus import WorkerBus
    from surge.server.core import SioServer

log = logging.getLogger("surge")


def wire(
    sio: SioServer,
    queue: PubSub | None,
    worker_bus: WorkerBus | None,
    node: str,
    opts: dict[str, Any],
    received: Callable[[bytes, int], None],
) -> tuple[RedisStreams | WorkerBus | None, RedisSessions | None]:
    """The transport that now orders events (None: recovery stays per process), and the Redis
    sessions' store to start, if that is where they live."""
    recovery = sio.recovery
    if recovery is None or queue is None:
        return None, None
    sio.node = node
    recovery.awaits_stream()
    if queue is worker_bus:
        from surge.queue.bus_sessions import BusSessions

        sio.store = BusSessions(worker_bus, node)
        worker_bus.on_entry = received
        worker_bus.joined = recovery.joined_stream_at
        return worker_bus, None
    if not opts["redis_streams"]:
        log.info(
            "connection_state_recovery: a client recovers only on the process it was on "
            "(on any with message_queue='redis://...' and redis_streams=True, or with socketio.run(workers=N))"
        )
        return None, None
    from surge.queue.redis_sessions import RedisSessions
    from surge.queue.redis_streams import RedisStreams

    assert isinstance(queue, RedisStreams)
    queue.on_entry = received
    queue.joined = recovery.joined_stream_at
    queue.backfill_seconds = recovery.max_disconnection_duration
    sessions = RedisSessions(opts["message_queue"], opts["channel"], node, recovery.max_disconnection_duration)
    sio.store = sessions
    return queue, sessions
