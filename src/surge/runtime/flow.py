"""Flow control for emitting threads (runtime layer): a thread whose emits reach a slow client waits.

The server core owns one :class:`FlowControl`; it marks the emit being made
(:attr:`FlowControl.emitting`), and a connection's writes report congestion to
it.  A thread whose emit reached a connection over ``max_write_buffer``
unread bytes waits on its :class:`EmitGate` until that connection drains;
threads emitting elsewhere go on.  A connection still congested after the
heartbeat window is dropped with a log line, so one client that never reads
holds its emitters back that long at most.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Protocol

log = logging.getLogger("surge")


class Congestible(Protocol):
    """A connection that can fall behind: the built-in server's HTTP connection."""

    congested: bool
    closed: bool
    peer: tuple[str, int]

    def close(self) -> None: ...


class EmitGate:
    """One emitting thread's gate: shut while an emit of that thread waits on congested connections.

    Opened and shut on the loop thread; the emitting thread waits on it.
    """

    __slots__ = ("_blockers", "_open")

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()
        self._blockers: set[Congestible] = set()

    def hold(self, conn: Congestible) -> None:
        self._blockers.add(conn)
        self._open.clear()

    def release(self, conn: Congestible) -> None:
        self._blockers.discard(conn)
        if not self._blockers:
            self._open.set()

    def wait(self) -> None:
        self._open.wait()


class FlowControl:
    """Which threads wait on which congested connections (loop thread only, but for :meth:`gate`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, window: float, max_write_buffer: int) -> None:
        self.loop = loop
        self.window = window  # ping_interval + ping_timeout: how long a connection may stay congested
        self.max_write_buffer = max_write_buffer
        self.emitting: EmitGate | None = None  # the gate of the emit being written now
        self._held: dict[Congestible, set[EmitGate]] = {}  # the congested connections, and who waits on them
        self._gates = threading.local()
        self.dropped = 0  # connections closed for staying congested

    def congested_count(self) -> int:
        return len(self._held)

    def gate(self) -> EmitGate:
        """The calling thread's gate."""
        gate: EmitGate | None = getattr(self._gates, "gate", None)
        if gate is None:
            gate = self._gates.gate = EmitGate()
        return gate

    def congestion(self, conn: Congestible, congested: bool) -> None:
        """``conn`` went over ``max_write_buffer`` unread bytes, or came back under."""
        conn.congested = congested
        if congested:
            self._held.setdefault(conn, set())
            self.loop.call_later(self.window, self._drop_if_congested, conn)
        else:
            for gate in self._held.pop(conn, ()):
                gate.release(conn)

    def hold(self, conn: Congestible) -> None:
        """The emit being written reached ``conn``, which is congested: its thread waits."""
        gate = self.emitting
        if gate is not None:
            held = self._held.get(conn)
            if held is not None and gate not in held:
                held.add(gate)
                gate.hold(conn)

    def _drop_if_congested(self, conn: Congestible) -> None:
        if conn.congested and not conn.closed:
            log.warning(
                "dropping client %s:%s: over %d bytes of output unread for %.0f s",
                conn.peer[0],
                conn.peer[1],
                self.max_write_buffer,
                self.window,
            )
            conn.close()
            self.dropped += 1
            self.congestion(conn, False)
