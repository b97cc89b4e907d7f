"""The Engine.IO session state machine, v3 and v4 (engine layer, no I/O).

One :class:`EngineSession` per Engine.IO connection.  The runtime feeds it the
packets it received and the current time, and takes out the packets to send,
the events for the Socket.IO layer, and the next deadline for its one timer.

Heartbeat (Engine.IO protocol, "Heartbeat"): in v4 the server sends PING every
``ping_interval`` and drops a client whose PONG does not come within
``ping_timeout``; in v3 the client sends PING, the server answers PONG, and a
client silent for ``ping_interval + ping_timeout`` is dropped.

Upgrade ("Upgrade"): over the new WebSocket the client sends ``2probe``, the
server answers ``3probe`` and releases the pending GET with a NOOP; the client
then sends ``5`` and the WebSocket carries everything from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from surge.engine.constants import POLLING, WEBSOCKET, Reason, Transport
from surge.protocol import jsoncodec
from surge.protocol.eio import EioPacket, EioType
from surge.protocol.errors import RemoteProtocolError

__all__ = ["EngineSession", "MessageReceived", "SessionClosed", "State", "sid_cookie"]


class State(Enum):
    """Where a session is in its life."""

    OPEN = "open"
    CLOSING = "closing"  # a polling client still has to collect the CLOSE packet
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """The client sent a message (str or bytes)."""

    data: str | bytes


@dataclass(frozen=True, slots=True)
class SessionClosed:
    """The session ended; ``reason`` uses python-socketio's reason strings."""

    reason: str


Event = MessageReceived | SessionClosed


class EngineSession:
    """Engine.IO session logic for one client; time is always passed in as ``now``."""

    __slots__ = (
        "_close_reason",
        "_events",
        "_outbox",
        "_outbox_bytes",
        "_ping_due",
        "_pong_deadline",
        "b64",
        "max_buffer",
        "max_payload",
        "overflowed",
        "ping_grace",
        "ping_interval",
        "ping_timeout",
        "poll_pending",
        "sid",
        "state",
        "transport",
        "upgrading",
        "version",
    )

    def __init__(
        self,
        sid: str,
        version: int,
        *,
        transport: Transport,
        now: float,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        ping_grace: float = 0.0,
        max_payload: int = 1_000_000,
        max_buffer: int = 1024 * 1024,
        b64: bool = False,
    ) -> None:
        self.sid = sid
        self.version = version
        self.transport = Transport(transport)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        # Added to the interval the client is told (python-engineio's ping_interval=(interval, grace)),
        # so a client is given that much longer before it thinks the server gone.
        self.ping_grace = ping_grace
        self.max_payload = max_payload
        self.b64 = b64
        self.state = State.OPEN
        self.poll_pending = False
        self.upgrading = False
        self._outbox: list[EioPacket] = []
        self._outbox_bytes = 0
        self.max_buffer = max_buffer
        self.overflowed = False  # closed because the client left more than max_buffer unread
        self._events: list[Event] = []
        self._pong_deadline: float | None = None
        self._close_reason = Reason.SERVER_DISCONNECT
        # v4: when the next PING goes out; v3: when a silent client is dropped.
        self._ping_due = now + ping_interval if version == 4 else now + self._silence_allowed()

    def _silence_allowed(self) -> float:
        """v3: how long a client may go without a PING (it pings every interval it was told)."""
        return self.ping_interval + self.ping_grace + self.ping_timeout

    def open_packet(self, upgrades: list[str]) -> EioPacket:
        """The handshake packet; intervals are reported exactly, in milliseconds."""
        info: dict[str, object] = {
            "sid": self.sid,
            "upgrades": upgrades,
            "pingInterval": round((self.ping_interval + self.ping_grace) * 1000),
            "pingTimeout": round(self.ping_timeout * 1000),
        }
        if self.version == 4:
            info["maxPayload"] = self.max_payload
        return EioPacket(EioType.OPEN, jsoncodec.dumps(info))

    # -- input -------------------------------------------------------------

    def receive_packet(self, packet: EioPacket, now: float) -> None:
        """Handle one packet from the client on the session's current transport."""
        if self.state is not State.OPEN:
            return
        if self.version == 3:
            self._ping_due = now + self._silence_allowed()
        ptype = packet.type
        if ptype == EioType.MESSAGE:
            self._events.append(MessageReceived(packet.data))
        elif ptype == EioType.PING and self.version == 3:
            self.send(EioPacket(EioType.PONG, packet.data))
        elif ptype == EioType.PONG and self.version == 4:
            self._pong_deadline = None
            self._ping_due = now + self.ping_interval
        elif ptype == EioType.CLOSE:
            if self.poll_pending:
                # The waiting GET ends with a NOOP, as Node's engine.io answers it.
                self._outbox.append(EioPacket(EioType.NOOP))
            self._close(Reason.CLIENT_DISCONNECT)
        elif ptype != EioType.NOOP:
            raise RemoteProtocolError(f"unexpected {ptype.name} packet from client")

    def receive_probe(self, packet: EioPacket) -> EioPacket:
        """A packet on a WebSocket that is probing to upgrade this polling session.

        Returns the ``3probe`` answer to write on that WebSocket.  The pending GET,
        if any, is released with a NOOP (queued here).
        """
        if self.transport is not POLLING or packet != EioPacket(EioType.PING, "probe"):
            raise RemoteProtocolError("expected 2probe on the upgrading WebSocket")
        self.upgrading = True
        self.send(EioPacket(EioType.NOOP))
        return EioPacket(EioType.PONG, "probe")

    def receive_upgrade(self) -> None:
        """The client sent UPGRADE on the probed WebSocket: switch to it."""
        if not self.upgrading:
            raise RemoteProtocolError("UPGRADE without a successful probe")
        self.upgrading = False
        self.transport = WEBSOCKET
        # Queued packets now go over the WebSocket; a NOOP there would be noise.
        self._outbox = [p for p in self._outbox if p.type != EioType.NOOP]

    def start_poll(self) -> bool:
        """A GET arrived.  True: answer it now with :meth:`packets_to_send`; False: park it.

        A second GET while one is pending breaks the protocol and closes the session.
        """
        if self.poll_pending:
            self._close(Reason.TRANSPORT_ERROR)
            raise RemoteProtocolError("overlapping polling requests")
        # While upgrading, answer at once (a NOOP if nothing waits): the client may not
        # have seen 3probe yet when it polls again, and then waits for this GET to end.
        if self._outbox or self.state is not State.OPEN or self.upgrading:
            return True
        self.poll_pending = True
        return False

    def end_poll(self) -> None:
        """The parked GET was answered (or its connection went away)."""
        self.poll_pending = False

    def transport_lost(self, reason: str = Reason.TRANSPORT_CLOSE) -> None:
        """The underlying connection closed without a CLOSE packet."""
        self._close(reason)

    # -- output ------------------------------------------------------------

    def send(self, packet: EioPacket) -> None:
        """Queue a packet for the client; one that leaves ``max_buffer`` bytes uncollected is closed."""
        if self.state is not State.OPEN:
            return
        self._outbox.append(packet)
        self._outbox_bytes += len(packet.data)
        if self._outbox_bytes > self.max_buffer:
            self.overflowed = True
            self._outbox = []
            self._outbox_bytes = 0
            self._close(Reason.TRANSPORT_ERROR)

    def has_packets(self) -> bool:
        """Whether anything waits in the outbox."""
        return bool(self._outbox)

    def packets_to_send(self) -> list[EioPacket]:
        """Drain the outbox; handing out the CLOSE packet completes a closing session."""
        packets, self._outbox = self._outbox, []
        self._outbox_bytes = 0
        if self.state is State.CLOSING:
            self._close(self._close_reason)
        return packets

    def events_received(self) -> list[Event]:
        """Drain the events for the Socket.IO layer."""
        events, self._events = self._events, []
        return events

    def close(self, reason: str = Reason.SERVER_DISCONNECT, now: float = 0.0) -> None:
        """Close from the server side.

        A polling client gets what is queued and a CLOSE packet on its next GET;
        the session is closed once that is handed out, or after ``ping_timeout``.
        """
        if self.state is not State.OPEN:
            return
        if self.transport is POLLING and not self.poll_pending and self._outbox:
            self._outbox.append(EioPacket(EioType.CLOSE))
            self.state = State.CLOSING
            self._close_reason = reason
            self._pong_deadline = now + self.ping_timeout
            return
        if self.transport is POLLING:
            self._outbox.append(EioPacket(EioType.CLOSE))
        self._close(reason)

    def _close(self, reason: str) -> None:
        if self.state is State.CLOSED:
            return
        self.state = State.CLOSED
        self._events.append(SessionClosed(reason))

    # -- time --------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` must next run, or None once closed."""
        if self.state is State.CLOSED:
            return None
        return self._pong_deadline if self._pong_deadline is not None else self._ping_due

    def on_timer(self, now: float) -> None:
        """Send the due PING, or drop a client that let its deadline pass."""
        if self.state is State.CLOSED:
            return
        if self.state is State.CLOSING:
            if self._pong_deadline is not None and now >= self._pong_deadline:
                self._close(self._close_reason)
            return
        if self.version == 3 or self._pong_deadline is not None:
            deadline = self._ping_due if self.version == 3 else self._pong_deadline
            if deadline is not None and now >= deadline:
                self._close(Reason.PING_TIMEOUT)
        elif now >= self._ping_due:
            self.send(EioPacket(EioType.PING))
            self._pong_deadline = now + self.ping_timeout


def sid_cookie(sid: str, cookie: str | dict[str, Any]) -> str:
    """The ``Set-Cookie`` value of the handshake for the ``cookie`` option, as python-engineio writes it.

    A name gives ``name=<sid>; path=/; SameSite=Lax``; a dict gives its ``name`` (default ``io``)
    and its other keys as attributes: ``True`` alone, a callable's result, any other value as is.
    """
    attributes = cookie if isinstance(cookie, dict) else {"name": cookie, "path": "/", "SameSite": "Lax"}
    text = f"{attributes.get('name', 'io')}={sid}"
    for name, value in attributes.items():
        if name == "name":
            continue
        if callable(value):
            value = value()
        text += f"; {name}" if value is True else f"; {name}={value}"
    return text
