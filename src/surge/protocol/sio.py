"""Socket.IO packets, protocol v4 (Engine.IO v3) and v5 (Engine.IO v4) (protocol layer).

Socket.IO protocol, "Packet encoding"::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]

The namespace is written only when it is not ``/``.  Binary values inside the
data are replaced by ``{"_placeholder":true,"num":<i>}`` and sent as separate
Engine.IO binary messages after the text packet (BINARY_EVENT/BINARY_ACK).

The two protocol versions share this encoding; they differ in the CONNECT
exchange (v5: explicit CONNECT with auth, reply ``{"sid": ...}``; v4: implicit
default namespace, namespace query string) and in type 4 (v5: CONNECT_ERROR;
v4: ERROR).  Those differences live in the server layer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from surge.protocol import jsoncodec
from surge.protocol.errors import RemoteProtocolError

__all__ = ["EncodedArgs", "SioDecoder", "SioPacket", "SioType", "ack_text", "encode", "encode_args", "event_text"]

# Events a client may not emit: the reference parser refuses them.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)
MAX_ACK_ID_DIGITS = 15
# type, attachment count and dash, namespace and comma, ack id: everything before the JSON data
_HEADER = re.compile("([0-6])(?:([0-9]+)-)?(?:(/[^,]*),?)?([0-9]*)")


class SioType(IntEnum):
    """Socket.IO packet types."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4  # ERROR in protocol v4
    BINARY_EVENT = 5
    BINARY_ACK = 6


_TYPES = tuple(SioType)  # indexing beats SioType(n), which goes through Enum's metaclass
_DIGITS = "0123456"  # a type as written: indexing beats formatting an IntEnum, which goes through Enum's __format__


class SioPacket:
    """One Socket.IO packet.  ``query`` is the v4 namespace query (CONNECT only; not compared).

    Not a dataclass: mypyc compiles this ``__init__``, where a dataclass's is Python it generates
    at import (one call per packet received).
    """

    __slots__ = ("data", "id", "namespace", "query", "type")

    def __init__(
        self, type: SioType, namespace: str = "/", data: Any = None, id: int | None = None, query: str = ""
    ) -> None:
        self.type = type
        self.namespace = namespace
        self.data = data
        self.id = id
        self.query = query

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SioPacket):
            return NotImplemented
        return (self.type, self.namespace, self.data, self.id) == (other.type, other.namespace, other.data, other.id)

    def __repr__(self) -> str:
        return f"SioPacket(type={self.type!r}, namespace={self.namespace!r}, data={self.data!r}, id={self.id!r})"


# What python-socketio sends as attachments: bytes and bytearray, found in lists and dicts (in a
# tuple, or as a memoryview, they are refused as not JSON, there as here).
_BINARY = (bytes, bytearray)


def _has_binary(obj: Any) -> bool:
    if isinstance(obj, _BINARY):
        return True
    if isinstance(obj, list):
        return any(_has_binary(v) for v in obj)
    if isinstance(obj, dict):
        return any(_has_binary(v) for v in obj.values())
    return False


def _deconstruct(obj: Any, attachments: list[bytes]) -> Any:
    if isinstance(obj, _BINARY):
        attachments.append(bytes(obj))
        return {"_placeholder": True, "num": len(attachments) - 1}
    if isinstance(obj, list):
        return [_deconstruct(v, attachments) for v in obj]
    if isinstance(obj, dict):
        return {k: _deconstruct(v, attachments) for k, v in obj.items()}
    return obj


class EncodedArgs:
    """The data of an EVENT or ACK encoded where it was given: what the client gets is the value at the emit.

    ``json`` is the JSON array, bytes replaced by placeholders; ``attachments`` are the bytes.
    The packet around it (type, namespace, ack id) is written when it is sent.
    """

    __slots__ = ("attachments", "json")

    def __init__(self, json: str, attachments: list[bytes]) -> None:
        self.json = json
        self.attachments = attachments

    def __repr__(self) -> str:
        return f"EncodedArgs({self.json!r}, {len(self.attachments)} attachments)"


def encode_args(data: list[Any], dumps: Callable[[Any], str] = jsoncodec.dumps) -> EncodedArgs:
    """Encode an EVENT's ``[event, *args]`` or an ACK's ``[*args]``; ``TypeError`` for what is not JSON."""
    try:
        return EncodedArgs(dumps(data), [])
    except TypeError:
        # JSON refuses bytes: the common case pays nothing for the binary check.
        if not _has_binary(data):
            raise
    attachments: list[bytes] = []
    return EncodedArgs(dumps(_deconstruct(data, attachments)), attachments)


def _header(ptype: int, namespace: str, ack_id: int | None, attachments: int) -> str:
    return (
        f"{_DIGITS[ptype]}{f'{attachments}-' if attachments else ''}"
        f"{'' if namespace == '/' else namespace + ','}{'' if ack_id is None else ack_id}"
    )


def event_text(namespace: str, args: EncodedArgs, ack_id: int | None = None) -> str:
    """The text of an EVENT (BINARY_EVENT with attachments) packet carrying ``args``."""
    if namespace == "/" and ack_id is None and not args.attachments:
        return "2" + args.json
    count = len(args.attachments)
    return _header(SioType.BINARY_EVENT if count else SioType.EVENT, namespace, ack_id, count) + args.json


def ack_text(namespace: str, ack_id: int, args: EncodedArgs) -> str:
    """The text of an ACK (BINARY_ACK with attachments) packet answering ``ack_id`` with ``args``."""
    if namespace == "/" and not args.attachments:
        return f"3{ack_id}{args.json}"
    count = len(args.attachments)
    return _header(SioType.BINARY_ACK if count else SioType.ACK, namespace, ack_id, count) + args.json


def encode(packet: SioPacket, dumps: Callable[[Any], str] = jsoncodec.dumps) -> tuple[str, list[bytes]]:
    """Encode ``packet``; returns the text packet and its binary attachments.

    EVENT and ACK packets whose data holds bytes become BINARY_EVENT and BINARY_ACK; other packets
    cannot carry bytes (``ValueError``, as python-socketio).
    """
    ptype, data = packet.type, packet.data
    if ptype is SioType.EVENT or ptype is SioType.ACK:
        args = encode_args(data, dumps)
        if ptype is SioType.EVENT:
            return event_text(packet.namespace, args, packet.id), args.attachments
        assert packet.id is not None
        return ack_text(packet.namespace, packet.id, args), args.attachments
    if _has_binary(data):
        raise ValueError("Packet does not support binary payload.")  # python-socketio's words
    namespace = packet.namespace
    return (
        f"{_DIGITS[ptype]}"
        f"{'' if namespace == '/' else namespace + ('?' + packet.query if packet.query else '') + ','}"
        f"{'' if packet.id is None else packet.id}{'' if data is None else dumps(data)}"
    ), []


def _valid_data(ptype: SioType, data: Any) -> bool:
    """The payload rules of the reference parser (events first: they are nearly every packet)."""
    if ptype is SioType.EVENT or ptype is SioType.BINARY_EVENT:
        if type(data) is not list or not data:
            return False
        name = data[0]
        return (type(name) is str and name not in RESERVED_EVENTS) or type(name) is int
    if ptype is SioType.CONNECT:
        return data is None or isinstance(data, dict)
    if ptype is SioType.DISCONNECT:
        return data is None
    if ptype is SioType.CONNECT_ERROR:
        return isinstance(data, (str, dict))
    return isinstance(data, list)


def _parse(text: str, max_attachments: int, loads: Callable[[str], Any]) -> tuple[SioPacket, int]:
    header = _HEADER.match(text)
    if header is None:
        raise RemoteProtocolError(f"invalid Socket.IO packet type in {text[:20]!r}")
    kind, count, namespace, ack_digits = header.groups()
    ptype = _TYPES[ord(kind) - 48]
    attachments = 0
    if ptype is SioType.BINARY_EVENT or ptype is SioType.BINARY_ACK:
        if count is None or len(count) > 6:
            raise RemoteProtocolError("invalid attachment count")
        attachments = int(count)
        if attachments > max_attachments:
            raise RemoteProtocolError(f"too many binary attachments ({attachments} > {max_attachments})")
    elif count is not None:
        raise RemoteProtocolError(f"attachment count in a {ptype.name} packet")
    query = ""
    if namespace is None:
        namespace = "/"
    elif "?" in namespace:
        namespace, _, query = namespace.partition("?")
    ack_id = None
    if ack_digits:
        if len(ack_digits) > MAX_ACK_ID_DIGITS:
            raise RemoteProtocolError("ack id too long")
        ack_id = int(ack_digits)
    pos = header.end()
    data = loads(text[pos:]) if pos < len(text) else None
    if not _valid_data(ptype, data):
        raise RemoteProtocolError(f"invalid payload for {ptype.name} packet")
    return SioPacket(ptype, namespace, data, ack_id, query), attachments


def _parse_event(text: str, loads: Callable[[str], Any]) -> SioPacket | None:
    """An EVENT to the default namespace (nearly every packet), or ``None`` for :func:`_parse` to read.

    ``2``, the ack id's digits if any, then the JSON array: read with ``str.find``
    instead of the header's regular expression (1.8 -> 1.0 µs a packet).  Anything
    else, a wrong payload included, goes the general way, which says what is wrong.
    """
    start = text.find("[", 1, MAX_ACK_ID_DIGITS + 2)
    if start < 0:
        return None
    ack_id = None
    if start > 1:
        digits = text[1:start]
        if not (digits.isascii() and digits.isdigit()):
            return None
        ack_id = int(digits)
    data = loads(text[start:])
    if type(data) is not list or not data:
        return None
    name = data[0]
    if (type(name) is str and name not in RESERVED_EVENTS) or type(name) is int:
        return SioPacket(SioType.EVENT, "/", data, ack_id)
    return None


def reconstruct(obj: Any, attachments: list[bytes]) -> Any:
    """``obj`` with its attachment placeholders replaced by the attachments."""
    if isinstance(obj, list):
        return [reconstruct(v, attachments) for v in obj]
    if isinstance(obj, dict):
        if obj.get("_placeholder") is True:
            num = obj.get("num")
            if type(num) is not int or not 0 <= num < len(attachments):
                raise RemoteProtocolError("attachment placeholder out of range")
            return attachments[num]
        return {k: reconstruct(v, attachments) for k, v in obj.items()}
    return obj


class SioDecoder:
    """Turns Engine.IO message data into Socket.IO packets, one connection's worth.

    Text goes to :meth:`receive_text`, binary to :meth:`receive_binary`; each
    returns a complete packet or ``None`` while a binary packet still waits for
    attachments.  A text message where an attachment is due, or an attachment
    nobody announced, is a protocol error.
    """

    __slots__ = ("_attachments", "_expected", "_loads", "_max_attachments", "_pending")

    def __init__(self, max_attachments: int = 10, loads: Callable[[str], Any] = jsoncodec.loads) -> None:
        self._max_attachments = max_attachments
        self._loads = loads
        self._pending: SioPacket | None = None
        self._expected = 0
        self._attachments: list[bytes] | None = None  # a binary packet's, while they arrive

    def receive_text(self, text: str) -> SioPacket | None:
        """Decode a text message."""
        if self._pending is not None:
            raise RemoteProtocolError("text message received while binary attachments are due")
        if text[:1] == "2":
            packet = _parse_event(text, self._loads)
            if packet is not None:
                return packet
        packet, count = _parse(text, self._max_attachments, self._loads)
        if count == 0:
            if packet.type is SioType.BINARY_EVENT or packet.type is SioType.BINARY_ACK:
                packet.data = reconstruct(packet.data, [])
            return packet
        self._pending, self._expected, self._attachments = packet, count, []
        return None

    def receive_binary(self, data: bytes) -> SioPacket | None:
        """Decode a binary message: the next attachment of the pending packet."""
        packet = self._pending
        if packet is None:
            raise RemoteProtocolError("binary message received with no attachment announced")
        attachments = self._attachments
        assert attachments is not None  # a pending packet has its list
        attachments.append(data)
        if len(attachments) < self._expected:
            return None
        packet.data = reconstruct(packet.data, attachments)
        self._pending, self._attachments = None, None
        return packet
