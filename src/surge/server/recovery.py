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

Across processes (a :class:`SessionStore`: Redis, surge.queue.redis_sessions)
every process logs every event in the order of one stream, so an offset means
the same event everywhere; the store holds what another process needs to take a
session over (:class:`Shared`), written when it changes rather than when its
connection is lost, so a process killed with SIGKILL leaves its sessions behind.
"""

from __future__ import annotations

import bisect
import itertools
import secrets
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

UNKNOWN = 1 << 128  # an ``evicted`` that no seq reaches: nothing can be recovered yet
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


@dataclass(slots=True)
class Shared:
    """A session as every process of a cluster sees it: enough to give a client back its sid and rooms."""

    pid: str
    node: str  # the process that has (or last had) its socket
    sid: str
    namespace: str
    rooms: list[str]
    connect_seq: int
    lost: bool = False  # its connection was lost (else: connected, or its process died)


class SessionStore(Protocol):
    """Where the sessions of every process of a cluster live (loop thread; the I/O is the store's)."""

    def saved(self, shared: Shared) -> None:
        """A socket connected, or its rooms changed: keep it (until ``ended``, or its process is gone)."""

    def lost(self, pid: str) -> None:
        """Its connection was lost: keep the session for the recovery window."""

    def ended(self, pid: str) -> None:
        """It disconnected for good."""

    def claim(self, pid: str, done: Callable[[Shared | None], None]) -> None:
        """Take the session of ``pid`` away from wherever it is (once: whoever claims it first gets
        it); ``done`` is called on the loop with it, or None."""


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
        self,
        text: str,
        attachments: Iterable[bytes],
        namespace: str,
        to: tuple[str, ...] | None,
        skip: Iterable[str],
        seq: int | None = None,
        age: float = 0.0,
    ) -> tuple[int, str]:
        """Log an event on its way out (at ``seq``, its place in a cluster's stream, if given; sent
        ``age`` seconds ago); returns its seq and its text with the offset."""
        self.seq = seq = self.seq + 1 if seq is None else seq
        marked = with_offset(text, f"{seq:x}")
        blobs = tuple(attachments)
        size = len(marked) + sum(len(b) for b in blobs) + ENTRY_OVERHEAD
        now = self.clock()
        self.log.append(Entry(seq, now - age, namespace, to, tuple(skip), marked, blobs, size))
        self.size += size
        self._evict(now)
        return seq, marked

    def awaits_stream(self) -> None:
        """This process will log a cluster's stream: until it reads it (:meth:`joined_stream_at`) its
        log says nothing, and no session is recovered here (a server started on its first request,
        under a WSGI server, meets a reconnecting client first)."""
        self.evicted = UNKNOWN

    def joined_stream_at(self, seq: int) -> None:
        """This process reads a cluster's stream from after ``seq``: what came before is not in its log."""
        self.seq = self.evicted = max(self.seq, seq)

    def backfill(
        self,
        entries: Iterable[tuple[str, tuple[bytes, ...], str, tuple[str, ...] | None, tuple[str, ...], int, float]],
        since: int,
    ) -> None:
        """A cluster stream's events from before this process read it, oldest first, as
        (text, attachments, namespace, to, skip, seq, age): logged, so that clients of other
        processes recover here too.  The log is complete after ``since``."""
        joined = self.seq
        self.evicted = since
        for text, attachments, namespace, to, skip, seq, age in entries:
            self.record(text, attachments, namespace, to, skip, seq, age)
        self.seq = max(self.seq, joined)

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
        missed = self._missed(session.sid, namespace, session.rooms, self._start(session, offset))
        return None if missed is None else Restored(session, missed)

    def restore_shared(self, shared: Shared, offset: Any) -> Restored | None:
        """A session another process had (or this one, before the store said so), and what its client
        missed after ``offset``: the stream's order is every process's, so the offset alone says it."""
        if offset is None:
            start: int | None = shared.connect_seq  # it got none of what was sent
        else:
            start = _seq(offset)
        missed = self._missed(shared.sid, shared.namespace, shared.rooms, start)
        if missed is None:
            return None
        now = self.clock()
        session = Session(
            shared.pid, shared.sid, shared.namespace, shared.rooms, None, shared.connect_seq, None, self.seq, now
        )
        return Restored(session, missed)

    def _missed(self, sid: str, namespace: str, rooms: Iterable[str], start: int | None) -> list[Entry] | None:
        """The events for ``sid`` in ``rooms`` after ``start``; None if some may have left the log."""
        if start is None or start < self.evicted:
            return None
        targets = set(rooms)
        log = self.log
        # Seqs are not dense across a cluster (a stream's ids): find the first entry after start.
        first = 0
        if log and log[0].seq <= start:
            first = bisect.bisect_right(log, start, key=_entry_seq)
        return [
            entry
            for entry in itertools.islice(log, first, None)
            if entry.namespace == namespace
            and sid not in entry.skip
            and (entry.to is None or not targets.isdisjoint(entry.to))
        ]

    @staticmethod
    def _start(session: Session, offset: Any) -> int | None:
        """The seq after which the client's missed events begin."""
        sent = session.sent_seq
        if offset is None:
            received = None
        else:
            received = _seq(offset)
            if received is None:
                return None
        if sent is None or received == sent:
            return session.disconnect_seq  # it got all that was sent before the disconnect
        if received is None:
            return session.connect_seq  # it got none of what was sent
        if received < sent:
            return received
        return None  # an offset this server never sent it


def _seq(offset: Any) -> int | None:
    """The seq a client's offset names (None if it is not one this server could have sent)."""
    if not isinstance(offset, str):
        return None
    try:
        return int(offset, 16)
    except ValueError:
        return None


def _entry_seq(entry: Entry) -> int:
    return entry.seq
