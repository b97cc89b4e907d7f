"""Server operations across processes (server layer; the queue transport is injected).

:class:`Cluster` applies an operation to this process's clients and, when a
message queue is configured (``publish`` is not None), tells the other
processes through :mod:`surge.queue.messages`.  Without a queue it is the same
operations on one process, so the front has one code path.  Runs on the loop
thread.

With ``ordered`` (connection state recovery over a Redis stream) an emit is not
delivered by the process that makes it but, like everyone else's, when it comes
back from the stream: every process then delivers and logs every event in the
stream's order, under the stream's id, so a client's offset means the same
event on any process it reconnects to.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from surge.engine.outgoing import Outgoing
from surge.protocol import sio as sio_codec
from surge.protocol.errors import RemoteProtocolError
from surge.protocol.sio import EncodedArgs, SioDecoder, SioPacket, SioType
from surge.queue import foreign, messages
from surge.queue.messages import CLOSE_ROOM, ENTER_ROOM, LEAVE_ROOM, Kind, QueueMessage
from surge.server.core import AckCallback, SioServer, SioSocket
from surge.server.recovery import Shared

log = logging.getLogger("surge.queue")
log_server = logging.getLogger("surge.server")

Publish = Callable[[bytes], None]
RunCallback = Callable[[AckCallback, list[Any]], None]
SocketInfo = dict[str, Any]


def target_tuple(to: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """``to`` as the queue schema carries it: a tuple of rooms or sids, or None for everyone."""
    return None if to is None else ((to,) if isinstance(to, str) else tuple(to))


class Cluster:
    """Routes emits, room changes and queries to the clients of every process."""

    def __init__(
        self, sio: SioServer, node: str, publish: Publish | None, run_callback: RunCallback, ordered: bool = False
    ) -> None:
        self.sio = sio
        self.node = node
        self.publish = publish
        self.ordered = ordered and publish is not None
        if self.ordered:
            sio.on_takeover = self._announce_takeover
        self.run_callback = run_callback
        self.remote_acks: dict[str, AckCallback] = {}  # ack_id -> callback, for clients of other processes
        self.fetches: dict[str, Callable[[list[SocketInfo]], None]] = {}
        # What fetch_sockets(details=True) says of a socket (the Admin UI's description, surge.admin).
        self.describe: Callable[[SioSocket], dict[str, Any]] | None = None

    def _send(self, message: QueueMessage) -> None:
        if self.publish is not None:
            self.publish(messages.encode(message))

    # -- emit ---------------------------------------------------------------------------------

    def emit(
        self,
        data: EncodedArgs,
        namespace: str,
        to: str | list[str] | None,
        skip: Iterable[str],
        callback: AckCallback | None,
    ) -> None:
        """Emit the event ``data`` (``[event, *args]``, encoded where the emit was made)."""
        sio = self.sio
        if sio.trace:
            log_server.info("emitting event %s to %s [%s]", data.json, to or "all", namespace)
        # A local client's emit goes straight to it, unless ordered asks for a place in the stream
        # (an emit that asks an ack is not recoverable: it needs none).
        local = isinstance(to, str) and to in sio.sockets and (callback is not None or not self.ordered)
        if self.publish is None or local:
            sio.emit(data, namespace, to, skip, callback)
            return
        message = sio.encode_event(namespace, data)
        if callback is not None:
            # The client is on another process (if anywhere): its ack comes back as a "callback".
            if not isinstance(to, str):
                raise ValueError("an emit with a callback must target exactly one client (its sid)")
            ack_id = secrets.token_hex(8)
            self.remote_acks[ack_id] = callback
            self._send(
                QueueMessage(
                    Kind.EMIT, self.node, namespace, message.text, tuple(message.attachments), (to,), id=ack_id
                )
            )
            return
        if not self.ordered:
            sio.deliver(message, namespace, to, skip)
        self._send(
            QueueMessage(
                Kind.EMIT, self.node, namespace, message.text, tuple(message.attachments), target_tuple(to), tuple(skip)
            )
        )

    # -- rooms and disconnects --------------------------------------------------------------------

    def room_operation(self, kind: str, namespace: str, sid: str = "", room: str = "") -> None:
        """enter_room / leave_room / disconnect for one sid, close_room for a room."""
        local = self._apply(kind, namespace, sid, room)
        if kind == CLOSE_ROOM or not local:
            self._send(QueueMessage(kind, self.node, namespace, sid=sid, room=room))

    def sockets_operation(self, kind: str, namespace: str, to: str | Iterable[str] | None, room: str = "") -> None:
        """sockets_join / sockets_leave / disconnect_sockets for every client in ``to``, on every process."""
        self._apply_to_sockets(kind, namespace, target_tuple(to), room)
        self._send(QueueMessage(kind, self.node, namespace, to=target_tuple(to), room=room))

    def _apply(self, kind: str, namespace: str, sid: str, room: str) -> bool:
        sio = self.sio
        if kind == CLOSE_ROOM:
            sio.close_room(room, namespace)
            return True
        if sid not in sio.sockets:
            return False
        if kind == ENTER_ROOM:
            sio.enter_room(sid, room, namespace)
        elif kind == LEAVE_ROOM:
            sio.leave_room(sid, room, namespace)
        else:
            sio.disconnect(sid, namespace)
        return True

    def _apply_to_sockets(self, kind: str, namespace: str, to: tuple[str, ...] | None, room: str) -> None:
        for sid in [s["sid"] for s in self.local_sockets(namespace, to)]:
            if kind == Kind.SOCKETS_JOIN:
                self.sio.enter_room(sid, room, namespace)
            elif kind == Kind.SOCKETS_LEAVE:
                self.sio.leave_room(sid, room, namespace)
            else:
                self.sio.disconnect(sid, namespace)

    # -- queries ------------------------------------------------------------------------------------

    def local_sockets(self, namespace: str, to: str | Iterable[str] | None, details: bool = False) -> list[SocketInfo]:
        """This process's clients of ``namespace`` in ``to`` (None: all), with their rooms
        (and with ``details``, what :attr:`describe` says of them)."""
        found = self.sio.targets(namespace, to, ())
        if not found:
            return []
        rooms_of, describe = self.sio.namespaces[namespace].rooms_of, self.describe if details else None
        if describe is None:
            return [{"sid": s.sid, "rooms": sorted(rooms_of(s))} for s in found]
        return [{"sid": s.sid, "rooms": sorted(rooms_of(s)), "details": describe(s)} for s in found]

    def request_sockets(
        self,
        namespace: str,
        to: str | Iterable[str] | None,
        collect: Callable[[list[SocketInfo]], None],
        details: bool = False,
    ) -> str:
        """Ask the other processes for their clients in ``to``; each answer goes to ``collect``."""
        fetch_id = secrets.token_hex(8)
        self.fetches[fetch_id] = collect
        self._send(QueueMessage(Kind.FETCH, self.node, namespace, to=target_tuple(to), id=fetch_id, details=details))
        return fetch_id

    # -- from the queue ---------------------------------------------------------------------------

    def backfill(self, entries: list[tuple[bytes, int, float]], since: int) -> None:
        """The stream's events from before this process read it (ordered): into the recovery log only."""
        recovery = self.sio.recovery
        assert recovery is not None
        events = []
        for raw, seq, age in entries:
            try:
                message = messages.decode(raw)
            except RemoteProtocolError:
                continue
            if message.kind == Kind.EMIT and not message.id and message.packet.endswith("]"):
                events.append((message.packet, message.attachments, message.ns, message.to, message.skip, seq, age))
        recovery.backfill(events, since)
        self.sio.stream_joined()

    def _announce_takeover(self, shared: Shared) -> None:
        self._send(QueueMessage(Kind.TAKEOVER, self.node, shared.namespace, id=shared.pid, target=shared.node))

    def received(self, raw: bytes, seq: int | None = None) -> None:
        """A message from another process (or, from a stream, ``seq``: its place there)."""
        try:
            data = messages.parse(raw)
            targets = messages.emit_targets(data)
            if targets is not None and not self._has_members(*targets):
                return  # the common case of a fleet: a room whose members are elsewhere
            message = foreign.decode(data)  # Surge's schema, or a Flask-SocketIO process's message
        except RemoteProtocolError as exc:
            log.warning("ignoring a message on the queue channel: %s", exc)
            return
        if message is None:
            return
        kind = message.kind
        if seq is not None and kind == Kind.EMIT and not message.id:
            # Ordered: every process delivers every event, its own too, at its place in the stream.
            self.sio.deliver(
                Outgoing(message.packet, list(message.attachments)), message.ns, message.to, message.skip, seq
            )
            return
        if message.node == self.node:
            return
        if kind == Kind.EMIT:
            self._received_emit(message)
        elif kind == Kind.CALLBACK:
            callback = self.remote_acks.pop(message.id, None) if message.target == self.node else None
            if callback is not None:
                packet = decode_packet(message.packet, message.attachments)
                self.run_callback(callback, packet.data if packet is not None else [])
        elif kind == Kind.FETCH:
            sockets = self.local_sockets(message.ns, message.to, message.details)
            self._send(
                QueueMessage(
                    Kind.FETCHED, self.node, message.ns, id=message.id, target=message.node, sockets=tuple(sockets)
                )
            )
        elif kind == Kind.FETCHED:
            collect = self.fetches.get(message.id) if message.target == self.node else None
            if collect is not None:
                collect(list(message.sockets))
        elif kind == Kind.TAKEOVER:
            if message.target == self.node and self.sio.recovery is not None:
                self.sio.taken_over(message.id)
        elif kind in (Kind.SOCKETS_JOIN, Kind.SOCKETS_LEAVE, Kind.DISCONNECT_SOCKETS):
            self._apply_to_sockets(kind, message.ns, message.to, message.room)
        else:
            self._apply(kind, message.ns, message.sid, message.room)

    def _has_members(self, namespace: str, to: list[str] | None) -> bool:
        """Whether an emit to ``to`` in ``namespace`` concerns this process (connection state
        recovery logs every emit, for clients that are away)."""
        sio = self.sio
        if sio.recovery is not None:
            return True
        rooms = sio.namespaces.get(namespace)
        if rooms is None:
            return False
        return bool(rooms.everyone) if to is None else rooms.has_any(to)

    def _received_emit(self, message: QueueMessage) -> None:
        if not message.id:
            self.sio.deliver(Outgoing(message.packet, list(message.attachments)), message.ns, message.to, message.skip)
            return
        sid = (message.to or ("",))[0]
        if sid not in self.sio.sockets:
            return  # another process has this client
        packet = decode_packet(message.packet, message.attachments)
        if packet is None:
            return
        origin, ack_id, namespace = message.node, message.id, message.ns

        def answer(*args: Any) -> None:
            text, attachments = sio_codec.encode(SioPacket(SioType.ACK, namespace, list(args), 0), self.sio.dumps)
            self._send(
                QueueMessage(Kind.CALLBACK, self.node, namespace, text, tuple(attachments), id=ack_id, target=origin)
            )

        answer.runs_on_loop = True  # type: ignore[attr-defined]  # it only publishes: no handler context, no thread
        self.sio.emit(self.sio.encode_args(packet.data), namespace, sid, (), answer)


def decode_packet(text: str, attachments: Iterable[bytes]) -> SioPacket | None:
    """A packet as encoded once by a process (None, logged, if it is not one)."""
    decoder = SioDecoder(max_attachments=1000)
    try:
        packet = decoder.receive_text(text)
        for attachment in attachments:
            packet = decoder.receive_binary(attachment)
    except RemoteProtocolError as exc:
        log.warning("ignoring a malformed packet on the queue channel: %s", exc)
        return None
    return packet
