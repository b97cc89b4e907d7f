"""A test pair for the Socket.IO server layer: fake Engine.IO connections and handlers, all in memory.

:class:`Conn` stands for an Engine.IO connection (what the server calls on it
is recorded as decoded Socket.IO packets); :class:`Recorder` is a Handlers
that accepts every connection at once and records what the server asked of it.
"""

from __future__ import annotations

from typing import Any

from surge.engine.outgoing import Outgoing
from surge.protocol import sio
from surge.protocol.sio import SioDecoder, SioPacket, SioType
from surge.server.core import SioServer, SioSocket
from surge.server.recovery import Recovery


class Conn:
    """An Engine.IO connection as the Socket.IO server sees it."""

    def __init__(self, sid: str, version: int = 4) -> None:
        self.sid = sid
        self.version = version
        self.environ: dict[str, Any] = {"PATH_INFO": "/socket.io/"}
        self.app_state: Any = None
        self.sent: list[SioPacket] = []
        self.outgoing: list[Outgoing] = []  # what was sent as shared, encoded-once messages
        self.transport = "websocket"
        self.close_reason: str | None = None  # why the server closed it
        self._decoder = SioDecoder(max_attachments=10)

    def _decode(self, text: str, attachments: list[bytes]) -> None:
        packet = self._decoder.receive_text(text)
        for attachment in attachments:
            packet = self._decoder.receive_binary(attachment)
        assert packet is not None
        self.sent.append(packet)

    def send(self, data: str | bytes) -> None:
        assert isinstance(data, str)
        self._decode(data, [])

    def send_outgoing(self, message: Outgoing) -> None:
        self.outgoing.append(message)
        self._decode(message.text, message.attachments)

    def send_batch(self, messages: list[Outgoing]) -> None:
        for message in messages:
            self.send_outgoing(message)

    @property
    def closed(self) -> bool:
        return self.close_reason is not None

    def close(self, reason: str) -> None:
        self.close_reason = reason

    def take(self) -> list[SioPacket]:
        """What was sent since the last call, decoded."""
        sent, self.sent = self.sent, []
        self.outgoing = []
        return sent


class Recorder:
    """Handlers that accept every connection and record the calls."""

    def __init__(self, namespaces: tuple[str, ...] = ("/", "/chat")) -> None:
        self.namespaces = namespaces
        self.server: SioServer | None = None
        self.calls: list[tuple[Any, ...]] = []
        self.refuse: dict[str, dict[str, Any]] = {}  # namespace -> the error to refuse with

    def has_namespace(self, namespace: str) -> bool:
        return namespace in self.namespaces

    def handle_connect(self, socket: SioSocket, auth: Any) -> None:
        assert self.server is not None
        self.calls.append(("connect", socket.namespace, auth))
        if socket.namespace in self.refuse:
            self.server.refuse(socket, self.refuse[socket.namespace])
        else:
            self.server.accept(socket)

    def handle_event(self, socket: SioSocket, event: str, args: list[Any], ack_id: int | None) -> None:
        self.calls.append(("event", socket.sid, event, args, ack_id))

    def handle_ack(self, socket: SioSocket, callback: Any, args: list[Any]) -> None:
        self.calls.append(("ack", socket.sid, args))
        callback(*args)

    def handle_disconnect(self, socket: SioSocket, reason: str) -> None:
        self.calls.append(("disconnect", socket.sid, reason))


def make_server(
    namespaces: tuple[str, ...] = ("/", "/chat"), recovery: Recovery | None = None
) -> tuple[SioServer, Recorder]:
    handlers = Recorder(namespaces)
    server = SioServer(handlers, recovery=recovery)
    handlers.server = server
    return server, handlers


def client_packet(server: SioServer, conn: Conn, packet: SioPacket) -> None:
    """What the client sends, as the engine would hand it to the server."""
    text, attachments = sio.encode(packet)
    server.engine_message(conn, text)  # type: ignore[arg-type]
    for attachment in attachments:
        server.engine_message(conn, attachment)  # type: ignore[arg-type]


def connected(server: SioServer, sid: str, namespace: str = "/", version: int = 4) -> tuple[Conn, SioSocket]:
    """A client connected to ``namespace``; its CONNECT reply taken."""
    conn = Conn(sid, version)
    server.engine_connected(conn)  # type: ignore[arg-type]
    if version == 4 or namespace != "/":
        client_packet(server, conn, SioPacket(SioType.CONNECT, namespace, None))
    reply = conn.take()
    assert reply and reply[0].type is SioType.CONNECT, reply
    socket = conn.app_state.sockets[namespace]
    return conn, socket
