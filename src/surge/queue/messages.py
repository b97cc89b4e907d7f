"""The messages Surge processes exchange through the queue: a small, versioned JSON schema.

Never pickle: a queue message is JSON, and anything that does not parse as one
of the kinds below is refused with :class:`~surge.protocol.errors.RemoteProtocolError`
(the listener logs and drops it).  Version 1::

    {"v": 1, "kind": "emit", "node": "<publisher>", "ns": "/chat",
     "packet": "<encoded Socket.IO packet>", "bin": ["<base64>", ...],
     "to": ["room", ...] | null, "skip": ["sid", ...]}
    {"v": 1, "kind": "enter_room" | "leave_room", "node": ..., "ns": ..., "sid": ..., "room": ...}
    {"v": 1, "kind": "close_room", "node": ..., "ns": ..., "room": ...}
    {"v": 1, "kind": "disconnect", "node": ..., "ns": ..., "sid": ...}

``packet`` is the Socket.IO packet as encoded once by the emitting process, so
receivers forward it to their clients without decoding or encoding it again.
``to: null`` means everyone in the namespace.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from dataclasses import dataclass, field
from typing import Any

from surge.protocol.errors import RemoteProtocolError

VERSION = 1
KINDS = ("emit", "enter_room", "leave_room", "close_room", "disconnect")


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One message between processes; ``node`` is the publishing process's id."""

    kind: str
    node: str
    ns: str = "/"
    packet: str = ""
    attachments: tuple[bytes, ...] = ()
    to: tuple[str, ...] | None = None
    skip: tuple[str, ...] = field(default=())
    sid: str = ""
    room: str = ""


def encode(message: QueueMessage) -> bytes:
    """The JSON bytes of ``message``."""
    data: dict[str, Any] = {"v": VERSION, "kind": message.kind, "node": message.node, "ns": message.ns}
    if message.kind == "emit":
        data["packet"] = message.packet
        data["bin"] = [b64encode(a).decode("ascii") for a in message.attachments]
        data["to"] = list(message.to) if message.to is not None else None
        data["skip"] = list(message.skip)
    if message.kind in ("enter_room", "leave_room", "disconnect"):
        data["sid"] = message.sid
    if message.kind in ("enter_room", "leave_room", "close_room"):
        data["room"] = message.room
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise RemoteProtocolError(f"queue message field {key!r} must be a string")
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RemoteProtocolError(f"queue message field {key!r} must be a list of strings")
    return tuple(value)


def decode(raw: bytes | str) -> QueueMessage:
    """Parse one queue message; anything else raises RemoteProtocolError."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RemoteProtocolError("queue message is not JSON") from exc
    if not isinstance(data, dict):
        raise RemoteProtocolError("queue message is not a JSON object")
    if data.get("v") != VERSION:
        raise RemoteProtocolError(f"unsupported queue message version {data.get('v')!r}")
    kind = _str(data, "kind")
    if kind not in KINDS:
        raise RemoteProtocolError(f"unknown queue message kind {kind!r}")
    node, ns = _str(data, "node"), _str(data, "ns")
    if kind == "emit":
        try:
            attachments = tuple(b64decode(a, validate=True) for a in _strings(data.get("bin", []), "bin"))
        except (binascii.Error, ValueError) as exc:
            raise RemoteProtocolError("queue message attachment is not base64") from exc
        to = data.get("to")
        return QueueMessage(
            kind,
            node,
            ns,
            packet=_str(data, "packet"),
            attachments=attachments,
            to=None if to is None else _strings(to, "to"),
            skip=_strings(data.get("skip", []), "skip"),
        )
    sid = _str(data, "sid") if kind in ("enter_room", "leave_room", "disconnect") else ""
    room = _str(data, "room") if kind in ("enter_room", "leave_room", "close_room") else ""
    return QueueMessage(kind, node, ns, sid=sid, room=room)
