"""One WebSocket on an HTTP connection's transport (runtime layer).

Frames in are parsed by ``websockets``' sans-I/O :class:`~websockets.protocol.Protocol`
(masking, control frames, close handshake, UTF-8 and size checks: a message over
``max_size`` closes with 1009).  Fragmented messages are reassembled here, since
that protocol yields frames, not messages.  Data frames out are written as bytes
built by :mod:`surge.runtime.wsframe`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State

from surge.protocol import wsframe

if TYPE_CHECKING:
    from surge.engine.outgoing import Outgoing
    from surge.runtime.http import HttpProtocol

log = logging.getLogger("surge.runtime")

OnMessage = Callable[[str | bytes], None]


class WebSocketChannel:
    """Receives messages into ``on_message`` and writes frames; ``on_close`` runs once."""

    __slots__ = ("_fragments", "_fragments_text", "closed", "http", "on_close", "on_message", "protocol")

    def __init__(self, http: HttpProtocol, max_size: int, on_message: OnMessage, on_close: Callable[[], None]) -> None:
        self.http = http
        self.protocol = Protocol(Side.SERVER, max_size=max_size, logger=log)
        self.on_message = on_message
        self.on_close = on_close
        self.closed = False
        self._fragments: list[bytes] = []
        self._fragments_text = False

    def data_received(self, data: bytes) -> None:
        protocol = self.protocol
        protocol.receive_data(data)
        for event in protocol.events_received():
            frame = cast(Frame, event)  # a server-side Protocol past the handshake yields frames only
            if self.closed:
                break
            opcode = frame.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
                if frame.fin:
                    self._deliver(bytes(frame.data), opcode is Opcode.TEXT)
                else:
                    self._fragments = [bytes(frame.data)]
                    self._fragments_text = opcode is Opcode.TEXT
            elif opcode is Opcode.CONT:
                self._fragments.append(bytes(frame.data))
                if frame.fin:
                    data, self._fragments = b"".join(self._fragments), []
                    self._deliver(data, self._fragments_text)
        self._flush()

    def _deliver(self, data: bytes, is_text: bool) -> None:
        if is_text:
            try:
                text = data.decode()
            except UnicodeDecodeError:
                # RFC 6455 §8.1: invalid UTF-8 in a text message fails the connection with 1007.
                log.info("websocket from %s closed: invalid UTF-8 in a text message", self.http.peer[0])
                self.close(1007, "invalid UTF-8")
                return
            self.on_message(text)
        else:
            self.on_message(data)

    def _flush(self) -> None:
        protocol = self.protocol
        for chunk in protocol.data_to_send():
            if chunk:
                self.http.write(chunk)
        if protocol.state is State.CLOSED or protocol.close_expected():
            if protocol.close_code is not None and protocol.close_code not in (1000, 1001, 1005):
                log.info(
                    "websocket from %s closed: %s %s", self.http.peer[0], protocol.close_code, protocol.close_reason
                )
            self.http.close()
            self.connection_lost()

    def send(self, data: str | bytes) -> None:
        """Write one message as a text (str) or binary (bytes) frame."""
        if not self.closed:
            if isinstance(data, str):
                self.http.write(wsframe.frame(data.encode(), wsframe.OP_TEXT))
            else:
                self.http.write(wsframe.frame(data, wsframe.OP_BINARY))

    def send_outgoing(self, message: Outgoing, version: int) -> None:
        """Write a message encoded once for many connections: its frames are shared bytes."""
        if not self.closed:
            self.http.write(message.frames(version))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame and close the connection."""
        if self.closed:
            return
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(code, reason)
        self._flush()
        self.http.close()
        self.connection_lost()

    def connection_lost(self) -> None:
        if not self.closed:
            self.closed = True
            self.on_close()
