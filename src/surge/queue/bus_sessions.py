"""Connection state recovery's sessions held by the supervisor of ``workers=N`` (queue layer).

The same contract as surge.queue.redis_sessions, over the worker bus: every
change is a ``SESSION`` frame in order with the worker's other messages, a
claim is answered by an ``ANSWER`` frame (surge.queue.sequencer keeps them).
The supervisor knows when a worker dies, so a dead worker's sessions are kept
exactly for the recovery window from then.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

from surge.queue.worker_bus import SESSION, WorkerBus
from surge.server.recovery import Shared

log = logging.getLogger("surge.queue")

Claim = Callable[[Shared | None], None]


class BusSessions:
    """A :class:`~surge.server.recovery.SessionStore` kept by the supervisor."""

    def __init__(self, bus: WorkerBus, node: str) -> None:
        self.bus = bus
        self.node = node
        self.live: set[str] = set()
        self.claims: dict[int, tuple[str, Claim]] = {}  # claim id -> (pid, its callback)
        self._ids = itertools.count()
        bus.answered = self._answered

    def _send(self, op: dict[str, Any]) -> None:
        self.bus.publish(SESSION + json.dumps({**op, "node": self.node}).encode())

    def saved(self, shared: Shared) -> None:
        if shared.pid in self.live:
            self._send({"op": "update", "pid": shared.pid, "rooms": shared.rooms})
            return
        self.live.add(shared.pid)
        record = {"node": self.node, "sid": shared.sid, "ns": shared.namespace, "rooms": shared.rooms}
        self._send({"op": "create", "pid": shared.pid, "record": {**record, "connect": shared.connect_seq}})

    def lost(self, pid: str) -> None:
        self.live.discard(pid)
        self._send({"op": "lost", "pid": pid})

    def ended(self, pid: str) -> None:
        self.live.discard(pid)
        self._send({"op": "end", "pid": pid})

    def claim(self, pid: str, done: Claim) -> None:
        claim_id = next(self._ids)
        self.claims[claim_id] = (pid, done)
        self._send({"op": "claim", "pid": pid, "id": claim_id})

    def _answered(self, data: bytes) -> None:
        try:
            answer = json.loads(data)
            pid, done = self.claims.pop(answer["id"])
            record = answer["record"]
            shared = None
            if record is not None:
                shared = Shared(
                    pid,
                    record["node"],
                    record["sid"],
                    record["ns"],
                    record["rooms"],
                    int(record["connect"]),
                    bool(record.get("lost")),
                )
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring a malformed session answer on the worker bus (%s)", exc)
            return
        done(shared)
