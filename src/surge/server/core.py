"""Socket.IO server semantics over Engine.IO connections (server layer).

Namespaces, the CONNECT exchange of protocol v4 and v5, rooms, emit routing
(a broadcast is encoded once), and acks in both directions.  Which code runs
for an event, and in which thread, is the :class:`Handlers` object's business
(the Flask front); this class only calls it.

Every method here runs on the event-loop thread; the front hops there.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Set
from typing import Any, Protocol

from surge.engine.constants import SHUTDOWN, Reason
from surge.engine.outgoing import Outgoing
from surge.protocol import jsoncodec, sio
from surge.protocol.errors import RemoteProtocolError
from surge.protocol.sio import SioDecoder, SioPacket, SioType
from surge.server.connection import Connection
from surge.server.observer import Observer
from surge.server.recovery import UNKNOWN, Recovery, Restored, SessionStore, Shared
from surge.server.rooms import NO_ROOMS, Rooms

log = logging.getLogger("surge.server")

AckCallback = Callable[..., Any]


class Handlers(Protocol):
    """What the server calls into; the Flask front implements it."""

    def has_namespace(self, namespace: str) -> bool: ...

    def handle_connect(self, socket: SioSocket, auth: Any) -> None:
        """Run the connect handler, then call ``server.accept`` or ``server.refuse``."""

    def handle_event(self, socket: SioSocket, event: str, args: list[Any], ack_id: int | None) -> None: ...

    def handle_ack(self, socket: SioSocket, callback: AckCallback, args: list[Any]) -> None: ...

    def handle_disconnect(self, socket: SioSocket, reason: str) -> None: ...


class SioSocket:
    """One client's connection to one namespace."""

    __slots__ = (
        "_next_ack",
        "acks",
        "client",
        "connect_seq",
        "connected",
        "missed",
        "namespace",
        "pending",
        "pid",
        "recovered",
        "rooms",
        "sent_seq",
        "sid",
        "since",
        "state",
    )

    def __init__(self, sid: str, namespace: str, client: SioClient) -> None:
        self.sid = sid
        self.namespace = namespace
        self.client = client
        self.connected = False
        self.rooms: Set[str] = NO_ROOMS  # what surge.server.rooms keeps of it
        self.since = 0
        # Made when first needed: an idle connection should cost little (bench/connection_memory.py).
        self.pending: list[Outgoing] | None = None  # emits made before the CONNECT reply
        self.acks: dict[int, AckCallback] | None = None  # ack id -> callback, for the client's acks
        self._next_ack = 0
        self.state: Any = None  # the front's per-socket data (Flask session, ...)
        # Connection state recovery (when on, for protocol v5 clients): see surge.server.recovery.
        self.pid: str | None = None
        self.recovered = False
        self.connect_seq = 0
        self.sent_seq: int | None = None
        self.missed: tuple[Outgoing, ...] = ()  # a recovered socket's missed events, sent before its CONNECT reply

    @property
    def environ(self) -> dict[str, Any]:
        return self.client.conn.environ

    @property
    def eio_sid(self) -> str:
        return self.client.conn.sid

    def send(self, message: Outgoing) -> None:
        if self.connected:
            self.client.conn.send_outgoing(message)
        elif self.pending is None:
            self.pending = [message]
        else:
            self.pending.append(message)

    def next_ack_id(self, callback: AckCallback) -> int:
        ack_id = self._next_ack
        self._next_ack += 1
        if self.acks is None:
            self.acks = {}
        self.acks[ack_id] = callback
        return ack_id


class SioClient:
    """The Socket.IO side of one Engine.IO connection."""

    __slots__ = ("claiming", "conn", "decoder", "sockets")

    def __init__(self, conn: Connection, max_attachments: int, loads: Callable[[str], Any]) -> None:
        self.conn = conn
        self.decoder = SioDecoder(max_attachments, loads)
        self.sockets: dict[str, SioSocket] = {}
        self.claiming: tuple[str, ...] = ()  # namespaces whose CONNECT waits for the session store

    @property
    def version(self) -> int:
        """Engine.IO version; Socket.IO protocol v5 rides on 4, v4 on 3."""
        return self.conn.version


class SioServer:
    """The Socket.IO server; an :class:`~surge.runtime.engine.EngineApp`."""

    def __init__(
        self,
        handlers: Handlers,
        *,
        max_attachments: int = 10,
        always_connect: bool = False,
        dumps: Callable[[Any], str] = jsoncodec.dumps,
        loads: Callable[[str], Any] = jsoncodec.loads,
        trace: bool = False,
        recovery: Recovery | None = None,
    ) -> None:
        self.handlers = handlers
        self.recovery = recovery
        self.live_pids: dict[str, SioSocket] = {}  # pid -> connected socket (connection state recovery)
        # Recovery across the processes of a cluster: the sessions' store, and this process's name in it.
        self.store: SessionStore | None = None
        self.node = ""
        self.on_takeover: Callable[[Shared], None] | None = None  # tell its process (the cluster does)
        # Claims answered before this process read the stream (a server started by its first
        # request, under a WSGI server): decided once it has (stream_joined).
        self._unjoined_claims: list[Callable[[], None]] = []
        self.max_attachments = max_attachments
        self.always_connect = always_connect
        self.dumps = dumps
        self.loads = loads
        self.sockets: dict[str, SioSocket] = {}
        self.namespaces: dict[str, Rooms[SioSocket]] = {}
        # logger=True: a line per event, ack, connect and disconnect (decided once: the hot path tests a flag).
        self.trace = trace
        self.observer: Observer | None = None
        self.observe_events = False

    # -- Engine.IO events -----------------------------------------------------------

    def engine_connected(self, conn: Connection) -> None:
        client = SioClient(conn, self.max_attachments, self.loads)
        conn.app_state = client
        if conn.version == 3:
            # Protocol v4: the default namespace is connected implicitly.
            self._connect(client, "/", None)

    def engine_message(self, conn: Connection, data: str | bytes) -> None:
        client: SioClient = conn.app_state
        try:
            if isinstance(data, str):
                packet = client.decoder.receive_text(data)
            else:
                packet = client.decoder.receive_binary(data)
        except RemoteProtocolError as exc:
            log.warning("closing session %s: %s", conn.sid, exc)
            conn.close(Reason.TRANSPORT_ERROR)
            return
        if packet is None:
            return
        ptype = packet.type
        if self.trace:
            log.info("%s: received %s %r [%s]", conn.sid, ptype.name, packet.data, packet.namespace)
        if ptype is SioType.EVENT or ptype is SioType.BINARY_EVENT:
            socket = client.sockets.get(packet.namespace)
            if socket is not None and socket.connected:
                data_list = packet.data
                if self.observe_events:
                    self.observer.received(socket, data_list)  # type: ignore[union-attr]
                self.handlers.handle_event(socket, data_list[0], data_list[1:], packet.id)
        elif ptype is SioType.ACK or ptype is SioType.BINARY_ACK:
            socket = client.sockets.get(packet.namespace)
            acks = socket.acks if socket is not None else None
            callback = acks.pop(packet.id, None) if acks is not None and packet.id is not None else None
            if socket is not None and callback is not None:
                self.handlers.handle_ack(socket, callback, packet.data)
        elif ptype is SioType.CONNECT:
            if packet.namespace in client.sockets or packet.namespace in client.claiming:
                return
            if client.version == 3 and packet.query:
                conn.environ = dict(conn.environ, QUERY_STRING=packet.query)
            self._connect(client, packet.namespace, packet.data)
        elif ptype is SioType.DISCONNECT:
            socket = client.sockets.get(packet.namespace)
            if socket is not None:
                self._remove(socket, Reason.CLIENT_DISCONNECT)
        else:
            log.warning("closing session %s: client sent %s", conn.sid, ptype.name)
            conn.close(Reason.TRANSPORT_ERROR)

    def engine_closed(self, conn: Connection, reason: str) -> None:
        client: SioClient = conn.app_state
        lost = reason != Reason.SERVER_DISCONNECT  # its client may come back (connection state recovery)
        if reason == SHUTDOWN:
            reason = Reason.SERVER_DISCONNECT  # what handlers get then, as python-socketio's
        for socket in list(client.sockets.values()):
            self._remove(socket, reason, lost)

    def engine_upgraded(self, conn: Connection) -> None:
        if self.observer is not None:
            client: SioClient = conn.app_state
            for socket in list(client.sockets.values()):
                self.observer.upgraded(socket)

    # -- connect ----------------------------------------------------------------------

    def _connect(self, client: SioClient, namespace: str, auth: Any) -> None:
        if not self.handlers.has_namespace(namespace):
            self._send_packet(
                client,
                SioPacket(SioType.CONNECT_ERROR, namespace, self._error_data(client, {"message": "Invalid namespace"})),
            )
            return
        recovery = self.recovery
        restored = None
        if recovery is not None and client.version == 4 and isinstance(auth, dict) and isinstance(auth.get("pid"), str):
            pid, offset = auth["pid"], auth.get("offset")
            if self.store is not None:
                client.claiming += (namespace,)  # a second CONNECT meanwhile is ignored, as when connected
                self.store.claim(pid, lambda shared: self._claimed(client, namespace, auth, pid, offset, shared))
                return
            restored = self._recover(client, pid, offset, namespace)
        self._open(client, namespace, auth, restored)

    def _claimed(
        self, client: SioClient, namespace: str, auth: Any, pid: str, offset: Any, shared: Shared | None
    ) -> None:
        """The store answered a reconnecting client's claim: its session, if it can be recovered."""
        assert self.recovery is not None
        if self.recovery.evicted == UNKNOWN and not client.conn.closed:  # this process does not read the stream yet
            self._unjoined_claims.append(lambda: self._claimed(client, namespace, auth, pid, offset, shared))
            return
        client.claiming = tuple(n for n in client.claiming if n != namespace)
        if client.conn.closed:
            return  # its connection went away meanwhile
        restored = None
        if shared is not None and shared.namespace == namespace:
            if shared.node == self.node:
                restored = self._recover(client, pid, offset, namespace)  # its own record says more
            elif not shared.lost and self.on_takeover is not None:
                self.on_takeover(shared)  # its socket there is not known to be dead yet
            if restored is None:
                restored = self.recovery.restore_shared(shared, offset)
        if restored is None:
            log.info(
                "session %s not recovered (%s; offset %s, the log complete after %x) [%s]",
                pid[:6],
                "gone" if shared is None else "events left the log",
                offset,
                self.recovery.evicted,
                namespace,
            )
        self._open(client, namespace, auth, restored)

    def stream_joined(self) -> None:
        """This process reads the cluster's stream now, its recent past logged: decide the claims
        that waited for it."""
        waiting, self._unjoined_claims = self._unjoined_claims, []
        for claimed in waiting:
            claimed()

    def _open(self, client: SioClient, namespace: str, auth: Any, restored: Restored | None) -> None:
        recovery = self.recovery
        socket = SioSocket(restored.session.sid if restored else secrets.token_urlsafe(15), namespace, client)
        client.sockets[namespace] = socket
        self.sockets[socket.sid] = socket
        rooms = self.namespaces.get(namespace)
        if rooms is None:
            rooms = self.namespaces[namespace] = Rooms()
        rooms.add(socket)
        if recovery is not None and client.version == 4:
            socket.pid = recovery.new_pid()
            socket.connect_seq = recovery.seq
            if restored is not None:
                self._restore(socket, restored, rooms)
            self.live_pids[socket.pid] = socket
            if restored is not None and recovery.skip_connect_handler:
                self.accept(socket)
                return
        if self.always_connect:
            self._send_connected(socket)
        self.handlers.handle_connect(socket, auth)

    def _save(self, socket: SioSocket) -> None:
        """Tell the store the session as it is now (it connected, or its rooms changed)."""
        assert self.store is not None and socket.pid is not None
        rooms = self.namespaces[socket.namespace].rooms_of(socket)
        self.store.saved(Shared(socket.pid, self.node, socket.sid, socket.namespace, rooms, socket.connect_seq))

    def _recover(self, client: SioClient, pid: str, offset: Any, namespace: str) -> Restored | None:
        """The session a reconnecting client names, if it can be recovered.

        A client may come back before its old connection is known to be dead (a
        WebSocket whose TCP connection vanished waits for the heartbeat): that
        socket is taken as lost now, and the old connection closed.
        """
        assert self.recovery is not None
        old = self.live_pids.get(pid)
        if old is not None and old.client is not client and old.namespace == namespace:
            self._remove(old, Reason.TRANSPORT_CLOSE, lost=True)
            if not old.client.sockets:
                old.client.conn.close(Reason.TRANSPORT_CLOSE)
        return self.recovery.restore(pid, offset, namespace)

    def _restore(self, socket: SioSocket, restored: Restored, rooms: Rooms[SioSocket]) -> None:
        """The recovered socket takes its session's place: pid, rooms, state and the events it missed."""
        session = restored.session
        socket.pid = session.pid
        socket.recovered = True
        socket.state = session.state
        socket.connect_seq = session.connect_seq
        socket.sent_seq = restored.missed[-1].seq if restored.missed else session.sent_seq
        for room in session.rooms:
            self._join(socket, room, rooms)
        socket.missed = tuple(Outgoing(entry.text, list(entry.attachments)) for entry in restored.missed)
        if self.trace:
            log.info("%s: recovered with %d missed event(s) [%s]", socket.sid, len(socket.missed), socket.namespace)

    def accept(self, socket: SioSocket) -> None:
        """The connect handler accepted ``socket``: reply CONNECT, then what it emitted."""
        if socket.client.sockets.get(socket.namespace) is not socket:
            if self.trace:
                log.info("%s: gone from %s before its connect handler returned", socket.sid, socket.namespace)
            return
        if not socket.connected:
            self._send_connected(socket)

    def _send_connected(self, socket: SioSocket) -> None:
        if self.trace:
            log.info("%s: connected to %s (Engine.IO session %s)", socket.sid, socket.namespace, socket.eio_sid)
        data: dict[str, str] | None = None
        if socket.client.version == 4:
            data = {"sid": socket.sid} if socket.pid is None else {"sid": socket.sid, "pid": socket.pid}
        reply = self._outgoing(SioPacket(SioType.CONNECT, socket.namespace, data))
        socket.connected = True
        if self.store is not None and socket.pid is not None:
            self._save(socket)
        pending, socket.pending = socket.pending or (), None
        missed, socket.missed = socket.missed, ()
        # As Node's socket.io: the missed events come first; the client hands them over before "connect".
        socket.client.conn.send_batch([*missed, reply, *pending])
        if self.observer is not None:
            self.observer.connected(socket)

    def refuse(self, socket: SioSocket, error: dict[str, Any]) -> None:
        """The connect handler refused ``socket``: CONNECT_ERROR with ``error``."""
        client = socket.client
        if client.sockets.get(socket.namespace) is not socket:
            return
        if socket.connected:  # always_connect: it was told it is connected
            self._send_packet(client, SioPacket(SioType.DISCONNECT, socket.namespace))
        else:
            self._send_packet(
                client, SioPacket(SioType.CONNECT_ERROR, socket.namespace, self._error_data(client, error))
            )
        self._forget(socket)

    @staticmethod
    def _error_data(client: SioClient, error: dict[str, Any]) -> Any:
        # Protocol v4's ERROR packet carries the message itself unless there is data.
        if client.version == 3 and "data" not in error:
            return error.get("message")
        return error

    # -- disconnect ---------------------------------------------------------------------

    def disconnect(self, sid: str, namespace: str | None = None) -> None:
        """Disconnect one socket from the server side."""
        socket = self.sockets.get(sid)
        if socket is None or (namespace is not None and socket.namespace != namespace):
            return
        self._send_packet(socket.client, SioPacket(SioType.DISCONNECT, socket.namespace))
        self._remove(socket, Reason.SERVER_DISCONNECT)
        if self.trace:
            log.info("%s: disconnected by the server [%s]", sid, socket.namespace)
        # The Engine.IO connection stays, as in Node's socket.io and python-socketio: the client may
        # connect to a namespace again on it, and the official clients close it when none is left.

    def _remove(self, socket: SioSocket, reason: str, lost: bool = False) -> None:
        was_connected = socket.connected
        observer = self.observer
        rooms = self.namespaces[socket.namespace].rooms_of(socket) if observer is not None and was_connected else []
        if lost and self.recovery is not None and socket.pid is not None and was_connected:
            self.recovery.persist(
                socket.pid,
                socket.sid,
                socket.namespace,
                self.namespaces[socket.namespace].rooms_of(socket),
                socket.state,
                socket.connect_seq,
                socket.sent_seq,
            )
        if self.store is not None and socket.pid is not None and was_connected:
            if lost:
                self.store.lost(socket.pid)
            else:
                self.store.ended(socket.pid)
        self._forget(socket)
        if was_connected:
            if observer is not None:
                observer.disconnected(socket, reason, rooms)
            self.handlers.handle_disconnect(socket, reason)

    def taken_over(self, pid: str) -> None:
        """Another process recovered the session of ``pid``: this one's socket of it is stale."""
        assert self.recovery is not None
        self.recovery.sessions.pop(pid, None)
        socket = self.live_pids.get(pid)
        if socket is not None:
            self._remove(socket, Reason.TRANSPORT_CLOSE)
            if not socket.client.sockets:
                socket.client.conn.close(Reason.TRANSPORT_CLOSE)

    def _forget(self, socket: SioSocket) -> None:
        socket.connected = False
        if socket.pid is not None and self.live_pids.get(socket.pid) is socket:
            del self.live_pids[socket.pid]
        socket.client.sockets.pop(socket.namespace, None)
        self.sockets.pop(socket.sid, None)
        rooms = self.namespaces.get(socket.namespace)
        if rooms is not None:
            rooms.remove(socket)
        callbacks = list(socket.acks.values()) if socket.acks else []
        socket.acks = None
        for callback in callbacks:
            # An ack somebody blocks on (``call()``) has a ``cancel`` to end the wait.
            cancel = getattr(callback, "cancel", None)
            if cancel is not None:
                cancel()

    # -- rooms --------------------------------------------------------------------------

    def enter_room(self, sid: str, room: str, namespace: str) -> None:
        socket = self.sockets.get(sid)
        if socket is not None and socket.namespace == namespace:
            self._join(socket, room, self.namespaces[namespace])

    def _join(self, socket: SioSocket, room: str, rooms: Rooms[SioSocket]) -> None:
        if rooms.join(socket, room) and socket.connected:
            self._rooms_changed(socket)
            if self.observer is not None:
                self.observer.joined(socket, room)

    def _rooms_changed(self, socket: SioSocket) -> None:
        if self.store is not None and socket.pid is not None:
            self._save(socket)

    def leave_room(self, sid: str, room: str, namespace: str) -> None:
        socket = self.sockets.get(sid)
        if socket is not None and socket.namespace == namespace:
            if self.namespaces[namespace].leave(socket, room) and socket.connected:
                self._rooms_changed(socket)
                if self.observer is not None:
                    self.observer.left(socket, room)

    def close_room(self, room: str, namespace: str) -> None:
        rooms = self.namespaces.get(namespace)
        if rooms is not None:
            members = rooms.close(room)
            for socket in members:
                self._rooms_changed(socket)
                if self.observer is not None:
                    self.observer.left(socket, room)

    def socket_here(self, sid: str, namespace: str) -> SioSocket | None:
        """The client ``sid`` of ``namespace``, if it is connected here (safe to ask from any thread)."""
        socket = self.sockets.get(sid)
        return socket if socket is not None and socket.namespace == namespace else None

    def rooms(self, sid: str, namespace: str) -> list[str]:
        socket = self.sockets.get(sid)
        if socket is None or socket.namespace != namespace:
            return []
        return self.namespaces[namespace].rooms_of(socket)

    # -- emit -----------------------------------------------------------------------------

    def emit(
        self,
        data: sio.EncodedArgs,
        namespace: str = "/",
        to: str | list[str] | None = None,
        skip_sids: Iterable[str] = (),
        callback: AckCallback | None = None,
    ) -> None:
        """Emit the event ``data`` (``[event, *args]``, encoded) to a sid, a room or rooms (``to``), or the whole namespace."""
        if callback is None:
            self.deliver(self.encode_event(namespace, data), namespace, to, skip_sids)
            return
        targets = self.targets(namespace, to, skip_sids)
        if len(targets) != 1:
            raise ValueError("an emit with a callback must target exactly one client")
        socket = targets[0]
        message = Outgoing(sio.event_text(namespace, data, socket.next_ack_id(callback)), data.attachments)
        if self.observe_events:
            self.observer.sent(namespace, socket.sid, (), message)  # type: ignore[union-attr]
        socket.send(message)

    def encode_args(self, data: list[Any]) -> sio.EncodedArgs:
        """An event's ``[event, *args]`` or an ack's ``[*args]`` encoded with this server's JSON codec."""
        return sio.encode_args(data, self.dumps)

    def encode_event(self, namespace: str, data: sio.EncodedArgs) -> Outgoing:
        """An EVENT packet encoded once, for as many clients (and processes) as it goes to."""
        return Outgoing(sio.event_text(namespace, data), data.attachments)

    def deliver(
        self,
        message: Outgoing,
        namespace: str,
        to: str | Iterable[str] | None = None,
        skip_sids: Iterable[str] = (),
        seq: int | None = None,
    ) -> None:
        """Send an encoded message to this process's clients in ``to`` (None: the whole namespace);
        ``seq``: its place in the cluster's stream (connection state recovery across processes)."""
        if self.observe_events:
            skip_sids = tuple(skip_sids)
            self.observer.sent(namespace, to, skip_sids, message)  # type: ignore[union-attr]
        if self.recovery is not None and message.text.endswith("]"):  # an event: its arguments end it
            self._deliver_recoverable(message, namespace, to, skip_sids, seq)
            return
        for socket in self.targets(namespace, to, skip_sids):
            socket.send(message)

    def _deliver_recoverable(
        self,
        message: Outgoing,
        namespace: str,
        to: str | Iterable[str] | None,
        skip_sids: Iterable[str],
        seq: int | None,
    ) -> None:
        """Log the event, then send it with its offset (protocol v4 clients, which cannot recover: without)."""
        assert self.recovery is not None
        skip = tuple(skip_sids)
        targets = None if to is None else ((to,) if isinstance(to, str) else tuple(to))
        seq, text = self.recovery.record(message.text, message.attachments, namespace, targets, skip, seq)
        marked = Outgoing(text, message.attachments)
        for socket in self.targets(namespace, to, skip):
            if socket.pid is None:
                socket.send(message)
            else:
                socket.sent_seq = seq
                socket.send(marked)

    def targets(self, namespace: str, to: str | Iterable[str] | None, skip_sids: Iterable[str]) -> list[SioSocket]:
        rooms = self.namespaces.get(namespace)
        if rooms is None:
            return []
        if to is None:
            skip = set(skip_sids)
            return [s for sid, s in rooms.everyone.items() if sid not in skip]
        return rooms.members([to] if isinstance(to, str) else to, skip_sids)

    def send_ack(self, socket: SioSocket, ack_id: int, args: sio.EncodedArgs) -> None:
        """Answer the client's ack request ``ack_id``."""
        if socket.client.sockets.get(socket.namespace) is not socket:
            return
        if self.trace:
            log.info("%s: sending ack %d %s [%s]", socket.sid, ack_id, args.json, socket.namespace)
        text = sio.ack_text(socket.namespace, ack_id, args)
        if args.attachments or not socket.connected:
            socket.send(Outgoing(text, args.attachments))
        else:
            socket.client.conn.send(text)  # one client: no shared frame to build and cache

    def _outgoing(self, packet: SioPacket) -> Outgoing:
        text, attachments = sio.encode(packet, self.dumps)
        return Outgoing(text, attachments)

    def _send_packet(self, client: SioClient, packet: SioPacket) -> None:
        client.conn.send_outgoing(self._outgoing(packet))
