"""Counts of an Engine.IO server's traffic (engine layer, no I/O)."""

from __future__ import annotations

from collections import Counter

from surge.engine.outgoing import Outgoing


class Traffic:
    """Counts of sessions, packets and bytes, for who reads them (the Admin UI, the metrics).

    Off unless someone asked (``EngineServer.traffic`` is None): the hot paths test one
    attribute.  Bytes are those of the Engine.IO packets (characters of a text packet),
    as Node's admin UI counts them, without HTTP or WebSocket framing.
    """

    __slots__ = ("bytes_in", "bytes_out", "closed", "opened", "packets_in", "packets_out")

    def __init__(self) -> None:
        self.opened = 0
        self.closed: Counter[str] = Counter()  # reason ->
        self.packets_in = self.bytes_in = self.packets_out = self.bytes_out = 0

    def received(self, size: int, packets: int = 1) -> None:
        self.packets_in += packets
        self.bytes_in += size

    def sent(self, size: int, packets: int = 1) -> None:
        self.packets_out += packets
        self.bytes_out += size

    def sent_outgoing(self, message: Outgoing) -> None:
        self.packets_out += 1 + len(message.attachments)
        self.bytes_out += len(message.text) + 1 + sum(len(a) for a in message.attachments)
