"""One WebSocket on an HTTP connection's transport (runtime layer).

Frames in are parsed by ``websockets``' sans-I/O :class:`~websockets.protocol.Protocol`
(masking, control frames, close handshake, UTF-8 and size checks: a message over
``max_size`` closes with 1009), except the frame nearly every message is: one
complete, masked, unfragmented text or binary frame.  Those are unmasked here,
because that protocol's generator-based parser was a tenth of an echo's cost in
the profile; every other frame is handed to the protocol whole, so it always
parses from a frame boundary.  Fragmented messages are reassembled here, since
that protocol yields frames, not messages.  Data frames out are written as bytes
built by :mod:`surge.protocol.wsframe`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast
from typing import Protocol as Interface

from websockets.frames import Frame, Opcode
from websockets.protocol import Protocol, Side, State
from websockets.speedups import apply_mask

from surge.protocol import wsframe

if TYPE_CHECKING:
    from surge.engine.outgoing import Outgoing
    from surge.runtime.channels import Listener

log = logging.getLogger("surge.runtime")


class Connection(Interface):
    """The upgraded HTTP connection a WebSocket writes its frames to."""

    peer: tuple[str, int]

    def write(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class WebSocketChannel:
    """Hands messages to its listener and writes frames; the listener's ``on_close`` runs once."""

    __slots__ = (
        "_fragments",
        "_fragments_text",
        "_needed",
        "_partial",
        "_passthrough",
        "_protocol",
        "closed",
        "http",
        "listener",
        "max_size",
    )

    def __init__(self, http: Connection, max_size: int, listener: Listener) -> None:
        self.http = http
        self.max_size = max_size
        self._protocol: Protocol | None = None  # made at the first frame it must see: an idle socket spares 1 KiB
        self.listener = listener
        self.closed = False
        self._fragments: list[bytes] = []
        self._fragments_text = False
        self._partial = bytearray()  # the start of a frame not yet complete
        self._needed = 0  # how long _partial must grow before parsing resumes
        self._passthrough = False  # the protocol reads everything (a frame over max_size or unmasked)

    def data_received(self, data: bytes) -> None:
        if self._passthrough:
            self._protocol_receive(data)
            return
        if self._partial:
            self._partial += data
            if len(self._partial) < self._needed:
                return
            data = bytes(self._partial)
            self._partial.clear()
        pos, end = 0, len(data)
        needed = 2  # bytes of the frame at pos that must be here to go on
        while end - pos >= 2:
            first, second = data[pos], data[pos + 1]
            length = second & 0x7F
            head = pos + 2
            if length >= 126:
                size = 2 if length == 126 else 8
                if head + size > end:
                    needed = 2 + size
                    break
                length = int.from_bytes(data[head : head + size], "big")
                head += size
            if length > self.max_size or not second & 0x80:
                self._passthrough = True  # the protocol fails the connection with the right close code
                self._protocol_receive(data[pos:])
                return
            stop = head + 4 + length
            if stop > end:
                needed = stop - pos
                break
            opcode = first & 0x0F
            if (
                first & 0xF0 == 0x80  # FIN, no RSV bits
                and (opcode == 1 or opcode == 2)
                and not self._fragments
                and (self._protocol is None or self._protocol.state is State.OPEN)
            ):
                self._deliver(apply_mask(data[head + 4 : stop], data[head : head + 4]), opcode == 1)
            else:
                self._protocol_receive(data[pos:stop])
            if self.closed:
                return
            pos = stop
            needed = 2
        if pos < end:
            self._partial += data[pos:]
            self._needed = needed

    @property
    def protocol(self) -> Protocol:
        """``websockets``' protocol for this connection, made on first use."""
        if self._protocol is None:
            self._protocol = Protocol(Side.SERVER, max_size=self.max_size, logger=log)
        return self._protocol

    def _protocol_receive(self, data: bytes) -> None:
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
            self.listener.on_message(text)
        else:
            self.listener.on_message(data)

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

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Send a close frame (without a status code for ``None``) and close the connection."""
        if self.closed:
            return
        protocol = self.protocol
        if protocol.state is State.OPEN:
            protocol.send_close(code, reason)
        self._flush()
        self.http.close()
        self.connection_lost()

    def connection_lost(self) -> None:
        if not self.closed:
            self.closed = True
            self.listener.on_close()
