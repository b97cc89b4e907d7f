"""Connection state recovery (server layer, no I/O; the clock is passed in).

Wire-compatible with socket.io-client 4.6+ and Node's socket.io: the CONNECT
reply carries a private session id (``pid``); every event a client could miss
(one that asks no ack) carries an offset as its last argument; a client that
reconnects puts ``pid`` and the offset of the last event it got in its CONNECT
auth.  Within ``max_disconnection_duration`` it gets back its sid, its rooms
and the front's state, and the events it missed, in order, each once.

:class:`Recovery` keeps the events in a log bounded by age and by bytes, and
the sessions of sockets whose connection was lost.  Unlike Node's in-memory
adapter, a client that had received no event yet, or whose last event left the
log while it was idle, still recovers: the server remembers the last event it
sent to each socket, and the client missed nothing sent before its disconnect
when the offsets agree.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

ENTRY_OVERHEAD = 240  # bytes an entry costs besides its text and attachments (measured: bench/recovery_memory.py)


@dataclass(slots=True)
class Entry:
    """One recoverable event: who it went to, and its encoded packet (offset included)."""

    seq: int
    at: float
    namespace: str
    to: tuple[str, ...] | None  # rooms or sids; None: the whole namespace
    skip: tuple[str, ...]  # mostly empty: a tuple costs nothing then, a frozenset 216 bytes
    text: str
    attachments: tuple[bytes, ...]
    size: int


@dataclass(slots=True)
class Session:
    """A socket whose connection was lost, as it was then."""

    pid: str
    sid: str
    namespace: str
    rooms: list[str]
    state: Any
    connect_seq: int  # the log's position when the socket first connected
    sent_seq: int | None  # the last event sent to it
    disconnect_seq: int
    disconnected_at: float


@dataclass(slots=True)
class Restored:
    session: Session
    missed: list[Entry]


def with_offset(text: str, offset: str) -> str:
    """An EVENT packet's text with ``offset`` as its last argument (the JSON array ends the packet)."""
    return f'{text[:-1]},"{offset}"]'


class Recovery:
    """The log of recoverable events and the sessions waiting for their clients."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        max_disconnection_duration: float = 120.0,
        max_buffer_size: int = 16 * 1024 * 1024,
        skip_connect_handler: bool = True,
    ) -> None:
        self.clock = clock
        self.max_disconnection_duration = max_disconnection_duration
        self.max_buffer_size = max_buffer_size
        self.skip_connect_handler = skip_connect_handler
        self.log: deque[Entry] = deque()
        self.size = 0  # bytes the log holds, by Entry.size
        self.seq = 0  # the last event's
        self.evicted = 0  # the last event that left the log
        self.sessions: dict[str, Session] = {}  # pid -> session, oldest disconnect first

    @staticmethod
    def new_pid() -> str:
        """A private session id: whoever presents it takes the session over, so it is unguessable."""
        return secrets.token_urlsafe(16)

    # -- the log ---------------------------------------------------------------------------------------

    def record(
        self, text: str, attachments: Iterable[bytes], namespace: str, to: tuple[str, ...] | None, skip: Iterable[str]
    ) -> tuple[int, str]:
        """Log an event on its way out; returns its seq and its text with the offset."""
        self.seq = seq = self.seq + 1
        marked = with_offset(text, f"{seq:x}")
        blobs = tuple(attachments)
        size = len(marked) + sum(len(b) for b in blobs) + ENTRY_OVERHEAD
        now = self.clock()
        self.log.append(Entry(seq, now, namespace, to, tuple(skip), marked, blobs, size))
        self.size += size
        self._evict(now)
        return seq, marked

    def _evict(self, now: float) -> None:
        log = self.log
        horizon = now - self.max_disconnection_duration
        while log and (self.size > self.max_buffer_size or log[0].at < horizon):
            entry = log.popleft()
            self.size -= entry.size
            self.evicted = entry.seq

    # -- sessions ----------------------------------------------------------------------------------------

    def persist(
        self,
        pid: str,
        sid: str,
        namespace: str,
        rooms: list[str],
        state: Any,
        connect_seq: int,
        sent_seq: int | None,
    ) -> None:
        """Keep a socket whose connection was lost, for its client to come back to."""
        now = self.clock()
        sessions = self.sessions
        horizon = now - self.max_disconnection_duration
        for old in list(itertools.islice(sessions.values(), 16)):  # expire a few on every call
            if old.disconnected_at >= horizon:
                break
            del sessions[old.pid]
        sessions.pop(pid, None)
        sessions[pid] = Session(pid, sid, namespace, rooms, state, connect_seq, sent_seq, self.seq, now)

    def restore(self, pid: str, offset: Any, namespace: str) -> Restored | None:
        """The session of ``pid`` and what its client missed after ``offset``; None if it cannot be recovered."""
        session = self.sessions.get(pid)
        if session is None or session.namespace != namespace:
            return None
        del self.sessions[pid]
        if self.clock() - session.disconnected_at > self.max_disconnection_duration:
            return None
        start = self._start(session, offset)
        if start is None or start < self.evicted:
            return None  # events it may have missed have left the log
        rooms = set(session.rooms)
        missed = [
            entry
            for entry in itertools.islice(self.log, max(0, start + 1 - self.log[0].seq) if self.log else 0, None)
            if entry.namespace == namespace
            and session.sid not in entry.skip
            and (entry.to is None or not rooms.isdisjoint(entry.to))
        ]
        return Restored(session, missed)

    @staticmethod
    def _start(session: Session, offset: Any) -> int | None:
        """The seq after which the client's missed events begin."""
        sent = session.sent_seq
        if offset is None:
            received = None
        elif isinstance(offset, str):
            try:
                received = int(offset, 16)
            except ValueError:
                return None
        else:
            return None
        if sent is None or received == sent:
            return session.disconnect_seq  # it got all that was sent before the disconnect
        if received is None:
            return session.connect_seq  # it got none of what was sent
        if received < sent:
            return received
        return None  # an offset this server never sent it
