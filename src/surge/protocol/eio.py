"""Engine.IO packets and polling payloads, protocol v3 and v4 (protocol layer).

Engine.IO protocol, "Packet encoding": a packet is its type digit followed by
its data.  Binary data travels as a binary WebSocket frame (v4: the raw bytes;
v3: the type byte ``4`` then the bytes) or, over polling, base64 text (v4: ``b``
prefix; v3: ``b4`` prefix).

Polling payloads ("Payload encoding"):

* v4: packets joined with the record separator ``\\x1e``.
* v3 string form: ``<length>:<packet>`` repeated, the length counted in UTF-16
  code units because the reference implementation is JavaScript.
* v3 binary form (used when binary is present and the client did not ask for
  ``b64``): per packet a marker byte (0 text, 1 binary), the decimal digits of
  the length as byte values 0-9, ``0xff``, then the packet (text as UTF-8, its
  length in bytes).
"""

from __future__ import annotations

import binascii
from base64 import b64decode, b64encode
from dataclasses import dataclass
from enum import IntEnum

from surge.protocol.errors import RemoteProtocolError

__all__ = [
    "EioPacket",
    "EioType",
    "decode_payload",
    "decode_ws_binary",
    "decode_ws_text",
    "encode_payload",
    "encode_ws",
]

RECORD_SEPARATOR = "\x1e"
TEXT_CONTENT_TYPE = "text/plain; charset=UTF-8"
BINARY_CONTENT_TYPE = "application/octet-stream"


class EioType(IntEnum):
    """Engine.IO packet types (identical in v3 and v4)."""

    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


@dataclass(frozen=True, slots=True)
class EioPacket:
    """One Engine.IO packet; ``data`` is bytes only for binary messages."""

    type: EioType
    data: str | bytes = ""


_TYPES = tuple(EioType)


def _text_packet(text: str) -> EioPacket:
    if not text or not "0" <= text[0] <= "6":
        raise RemoteProtocolError(f"invalid Engine.IO packet type in {text[:20]!r}")
    return EioPacket(_TYPES[ord(text[0]) - 48], text[1:])


def _b64(data: str) -> bytes:
    try:
        return b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RemoteProtocolError("invalid base64 in binary packet") from exc


def _text_or_b64(text: str, version: int) -> EioPacket:
    """Decode one packet of a text payload, where binary data is base64."""
    if text[:1] == "b":
        if version == 3:
            # v3 writes the packet type after the "b"; only messages carry binary.
            if text[1:2] != "4":
                raise RemoteProtocolError("v3 base64 packet must be a message")
            return EioPacket(EioType.MESSAGE, _b64(text[2:]))
        return EioPacket(EioType.MESSAGE, _b64(text[1:]))
    return _text_packet(text)


def decode_ws_text(text: str) -> EioPacket:
    """Decode the packet carried by a WebSocket text frame (v3 and v4 alike)."""
    return _text_packet(text)


def decode_ws_binary(data: bytes, version: int) -> EioPacket:
    """Decode the packet carried by a WebSocket binary frame."""
    if version == 3:
        # v3 prefixes binary frames with the packet type as a byte.
        if not data or data[0] != EioType.MESSAGE:
            raise RemoteProtocolError("v3 binary frame must be a message packet")
        return EioPacket(EioType.MESSAGE, data[1:])
    return EioPacket(EioType.MESSAGE, data)


def encode_ws(packet: EioPacket, version: int) -> str | bytes:
    """The WebSocket frame payload for ``packet``: str for text, bytes for binary."""
    if isinstance(packet.data, bytes):
        return b"\x04" + packet.data if version == 3 else packet.data
    return f"{packet.type}{packet.data}"


def _utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as JavaScript's ``String.length`` counts."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _encode_v3_text(packet: EioPacket) -> str:
    if isinstance(packet.data, bytes):
        return "b4" + b64encode(packet.data).decode("ascii")
    return f"{packet.type}{packet.data}"


def encode_message_payload(data: str) -> bytes:
    """A v4 polling payload of one text message: ``encode_payload`` for the common answer, cheaper."""
    return f"{EioType.MESSAGE:d}{data}".encode()


def encode_payload(packets: list[EioPacket], version: int, *, b64: bool = False) -> tuple[bytes, str]:
    """Encode packets for one polling response; returns ``(body, content_type)``.

    ``b64`` is the v3 client's ``b64=1`` query flag: it cannot read binary bodies.
    """
    if version != 3:
        parts = [
            "b" + b64encode(p.data).decode("ascii") if isinstance(p.data, bytes) else f"{p.type}{p.data}"
            for p in packets
        ]
        return RECORD_SEPARATOR.join(parts).encode(), TEXT_CONTENT_TYPE
    if b64 or not any(isinstance(p.data, bytes) for p in packets):
        out = []
        for p in packets:
            text = _encode_v3_text(p)
            out.append(f"{_utf16_len(text)}:{text}")
        return "".join(out).encode(), TEXT_CONTENT_TYPE
    body = bytearray()
    for p in packets:
        if isinstance(p.data, bytes):
            raw = b"\x04" + p.data
            body += b"\x01"
        else:
            raw = f"{p.type}{p.data}".encode()
            body += b"\x00"
        body += bytes(int(d) for d in str(len(raw)))
        body += b"\xff"
        body += raw
    return bytes(body), BINARY_CONTENT_TYPE


def decode_payload(body: bytes, version: int) -> list[EioPacket]:
    """Decode the body of a polling POST into packets."""
    if not body:
        raise RemoteProtocolError("empty payload")
    if version == 3 and body[0] in (0, 1):
        return _decode_v3_binary(body)
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise RemoteProtocolError("payload is not valid UTF-8") from exc
    if version == 3:
        return _decode_v3_string(text)
    return [_text_or_b64(part, 4) for part in text.split(RECORD_SEPARATOR)]


def _decode_v3_string(text: str) -> list[EioPacket]:
    packets = []
    pos, end = 0, len(text)
    while pos < end:
        colon = text.find(":", pos)
        digits = text[pos:colon]
        if colon < 0 or not digits.isascii() or not digits.isdigit() or len(digits) > 10:
            raise RemoteProtocolError("invalid v3 payload length")
        units = int(digits)
        start = pos = colon + 1
        # Advance by UTF-16 code units: characters beyond the BMP count twice.
        while units > 0 and pos < end:
            units -= 2 if ord(text[pos]) > 0xFFFF else 1
            pos += 1
        if units != 0 or start == pos:
            raise RemoteProtocolError("v3 payload length does not match its packet")
        packets.append(_text_or_b64(text[start:pos], 3))
    return packets


def _decode_v3_binary(body: bytes) -> list[EioPacket]:
    packets = []
    pos, end = 0, len(body)
    while pos < end:
        is_binary = body[pos]
        stop = body.find(b"\xff", pos + 1)
        digits = body[pos + 1 : stop] if stop > pos else b""  # not to -1: no separator is no length
        if is_binary not in (0, 1) or stop < 0 or not 0 < len(digits) <= 10 or max(digits) > 9:
            raise RemoteProtocolError("invalid v3 binary payload header")
        length = int("".join(str(d) for d in digits))
        pos = stop + 1
        raw = body[pos : pos + length]
        if length == 0 or len(raw) != length:
            raise RemoteProtocolError("v3 binary payload is truncated")
        pos += length
        if is_binary:
            packets.append(decode_ws_binary(raw, 3))
        else:
            try:
                packets.append(_text_packet(raw.decode()))
            except UnicodeDecodeError as exc:
                raise RemoteProtocolError("payload is not valid UTF-8") from exc
    return packets
