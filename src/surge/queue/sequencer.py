"""Connection state recovery across ``workers=N`` with no message queue: the supervisor's part (queue layer).

Redis Streams give a cluster one order of events and a place for sessions
(surge.queue.redis_streams, surge.queue.redis_sessions); on one machine the
supervisor, which relays every message of the worker bus, gives both:
:class:`Sequencer` numbers each message it relays and sends it to every worker,
the sender too (so every worker delivers and logs every event at the same
place), keeps the last ``window`` seconds of them for a worker that starts in a
dead one's place, and holds the sessions, claimed once.  No I/O here: the
supervisor frames what this returns (the frame kinds are surge.queue.worker_bus').
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from surge.queue.worker_bus import ANSWER, HEADER, JOINED, LIVE, PAST, SEQ


@dataclass(slots=True)
class Held:
    """A session as the supervisor keeps it."""

    record: dict[str, Any]  # as surge.queue.worker_bus.BusSessions writes it
    owner: int  # the worker it is on (or was on, when it was lost)
    expires: float | None  # None while connected


class Sequencer:
    """One order for the workers' messages, their recent past, and the recovery sessions."""

    def __init__(self, window: float, max_bytes: int, clock: Callable[[], float]) -> None:
        self.window = window
        self.max_bytes = max_bytes
        self.clock = clock
        self.seq = 0
        self.evicted = 0  # the last message that left the log
        self.log: deque[tuple[int, float, bytes]] = deque()
        self.size = 0
        self.sessions: dict[str, Held] = {}
        self._next_sweep = 0.0

    def number(self, message: bytes) -> bytes:
        """A message from a worker, as every worker gets it: with its place in the order."""
        self.seq += 1
        now = self.clock()
        self.log.append((self.seq, now, message))
        self.size += len(message)
        horizon = now - self.window
        while self.log and (self.size > self.max_bytes or self.log[0][1] < horizon):
            seq, _, old = self.log.popleft()
            self.size -= len(old)
            self.evicted = seq
        return LIVE + SEQ.pack(self.seq) + message

    def past(self) -> list[bytes]:
        """What a worker that starts gets first: the recent messages, then where the order stands."""
        now = self.clock()
        frames = [PAST + SEQ.pack(seq) + HEADER.pack(int((now - at) * 1000)) + m for seq, at, m in self.log]
        frames.append(JOINED + SEQ.pack(self.seq) + SEQ.pack(self.evicted))
        return frames

    def session(self, index: int, op: dict[str, Any]) -> bytes | None:
        """A session operation from worker ``index``; the answer to send it back, for a claim."""
        what, pid = op.get("op"), op.get("pid")
        if not isinstance(pid, str):
            return None
        held = self.sessions.get(pid)
        mine = held is not None and held.record.get("node") == op.get("node")
        if what == "create" and isinstance(op.get("record"), dict):
            self.sessions[pid] = Held(op["record"], index, None)
        elif what == "update" and mine and held is not None:
            held.record["rooms"] = op.get("rooms")
        elif what == "lost" and mine and held is not None:
            held.record["lost"] = True
            held.expires = self.clock() + self.window
        elif what == "end" and mine:
            del self.sessions[pid]
        elif what == "claim":
            taken = self.sessions.pop(pid, None)
            if taken is not None and taken.expires is not None and taken.expires < self.clock():
                taken = None
            answer = {"id": op.get("id"), "record": taken.record if taken is not None else None}
            return ANSWER + json.dumps(answer).encode()
        return None

    def worker_gone(self, index: int) -> None:
        """A worker died or stopped: its connected sessions are lost as of now."""
        expires = self.clock() + self.window
        for held in self.sessions.values():
            if held.owner == index and held.expires is None:
                held.expires = expires

    def sweep(self) -> None:
        """Forget the sessions whose window has passed (at most once a second)."""
        now = self.clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + 1.0
        for pid in [pid for pid, held in self.sessions.items() if held.expires is not None and held.expires < now]:
            del self.sessions[pid]
