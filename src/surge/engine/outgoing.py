"""A message encoded once for many connections (engine layer, no I/O)."""

from __future__ import annotations

from surge.protocol import wsframe
from surge.protocol.eio import EioPacket, EioType


class Outgoing:
    """A message encoded once for many connections (a broadcast).

    ``text`` is the Engine.IO message data (for Socket.IO, the encoded packet)
    and ``attachments`` any binary messages that follow it.  The WebSocket frames
    are built on first use and cached, per protocol version.
    """

    __slots__ = ("_frames", "attachments", "text")

    def __init__(self, text: str, attachments: list[bytes] | None = None) -> None:
        self.text = text
        self.attachments = attachments or []
        self._frames: dict[int, bytes] = {}

    def frames(self, version: int) -> bytes:
        """The WebSocket frames carrying this message for Engine.IO ``version``."""
        cached = self._frames.get(version)
        if cached is None:
            parts = [wsframe.frame(("4" + self.text).encode(), wsframe.OP_TEXT)]
            prefix = b"\x04" if version == 3 else b""
            parts += [wsframe.frame(prefix + a, wsframe.OP_BINARY) for a in self.attachments]
            cached = self._frames[version] = b"".join(parts)
        return cached

    def packets(self) -> list[EioPacket]:
        """The Engine.IO packets carrying this message."""
        return [EioPacket(EioType.MESSAGE, self.text)] + [EioPacket(EioType.MESSAGE, a) for a in self.attachments]
