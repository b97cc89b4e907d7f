"""The messages Surge processes exchange through the queue: a small, versioned JSON schema.

Never pickle: a queue message is JSON, and anything that does not parse as one
of the kinds below is refused with :class:`~surge.protocol.errors.RemoteProtocolError`
(the listener logs and drops it).  Every message has ``v`` (1), ``kind``,
``node`` (the publishing process) and ``ns`` (the namespace).  Version 1::

    emit               packet, bin, to (rooms or null for all), skip, [ack_id]   an event; with ack_id the
                                                                                  one client's ack comes back
    callback           target, id, packet, bin       the ack for ack_id ``id``, to process ``target``
    enter_room         sid, room                     put a client of any process in a room
    leave_room         sid, room
    disconnect         sid
    close_room         room
    sockets_join       to, room                      every client in ``to`` joins ``room``
    sockets_leave      to, room
    disconnect_sockets to
    fetch              id, to, [details]             which clients are in ``to``? every process answers
    fetched            target, id, sockets           [{"sid": ..., "rooms": [...]}, ...]; with details true,
                                                     each also has "details", as the Admin UI shows a socket
    takeover           target, id                    process ``target``'s socket of the recovery session
                                                     ``id`` (a pid) came back elsewhere: it is stale

``packet`` is a Socket.IO packet as encoded once by the emitting process (for
``callback``, an ACK packet), so receivers forward it without re-encoding;
binary attachments travel base64-encoded in ``bin``.
"""

from __future__ import annotations

import binascii
import json
from base64 import b64decode, b64encode
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from surge.protocol import jsoncodec
from surge.protocol.errors import RemoteProtocolError

VERSION = 1


class Kind(StrEnum):
    """The kinds of message, as their ``kind`` field spells them (members compare equal to it)."""

    EMIT = "emit"
    CALLBACK = "callback"
    ENTER_ROOM = "enter_room"
    LEAVE_ROOM = "leave_room"
    DISCONNECT = "disconnect"
    CLOSE_ROOM = "close_room"
    SOCKETS_JOIN = "sockets_join"
    SOCKETS_LEAVE = "sockets_leave"
    DISCONNECT_SOCKETS = "disconnect_sockets"
    FETCH = "fetch"
    FETCHED = "fetched"
    TAKEOVER = "takeover"


KINDS = frozenset(Kind)
# The room operations' members as module constants for the handlers' hot path (join_room per event):
# on Python 3.11 an Enum class attribute costs ten times a global lookup (54 ns against 5 here).
ENTER_ROOM, LEAVE_ROOM, CLOSE_ROOM = Kind.ENTER_ROOM, Kind.LEAVE_ROOM, Kind.CLOSE_ROOM
_FIELDS: dict[str, tuple[str, ...]] = {
    Kind.EMIT: ("packet", "bin", "to", "skip", "id"),
    Kind.CALLBACK: ("target", "id", "packet", "bin"),
    Kind.ENTER_ROOM: ("sid", "room"),
    Kind.LEAVE_ROOM: ("sid", "room"),
    Kind.DISCONNECT: ("sid",),
    Kind.CLOSE_ROOM: ("room",),
    Kind.SOCKETS_JOIN: ("to", "room"),
    Kind.SOCKETS_LEAVE: ("to", "room"),
    Kind.DISCONNECT_SOCKETS: ("to",),
    Kind.FETCH: ("id", "to", "details"),
    Kind.FETCHED: ("target", "id", "sockets"),
    Kind.TAKEOVER: ("target", "id"),
}
_OPTIONAL: dict[str, set[str]] = {Kind.EMIT: {"id", "skip", "bin"}, Kind.CALLBACK: {"bin"}, Kind.FETCH: {"details"}}


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One message between processes (fields as in the module docstring)."""

    kind: str
    node: str
    ns: str = "/"
    packet: str = ""
    attachments: tuple[bytes, ...] = ()
    to: tuple[str, ...] | None = None
    skip: tuple[str, ...] = ()
    sid: str = ""
    room: str = ""
    id: str = ""
    target: str = ""
    sockets: tuple[dict[str, Any], ...] = ()
    details: bool = False


def encode(message: QueueMessage) -> bytes:
    """The JSON bytes of ``message``."""
    data: dict[str, Any] = {"v": VERSION, "kind": message.kind, "node": message.node, "ns": message.ns}
    for name in _FIELDS[message.kind]:
        if name == "bin":
            data["bin"] = [b64encode(a).decode("ascii") for a in message.attachments]
        elif name in ("to", "skip"):
            value = getattr(message, name)
            data[name] = None if value is None else list(value)
        elif name == "sockets":
            data["sockets"] = list(message.sockets)
        elif (name == "id" and not message.id and message.kind == Kind.EMIT) or (
            name == "details" and not message.details
        ):
            continue
        else:
            data[name] = getattr(message, name)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise RemoteProtocolError(f"queue message field {key!r} must be a string")
    return value


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RemoteProtocolError(f"queue message field {key!r} must be a list of strings")
    return tuple(value)


def _sockets(value: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(value, list):
        raise RemoteProtocolError("queue message field 'sockets' must be a list")
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("sid"), str):
            raise RemoteProtocolError("queue message socket entries need a sid")
        _strings(item.get("rooms"), "rooms")
    return tuple(value)


def decode(raw: bytes | str) -> QueueMessage:
    """Parse one queue message; anything else raises RemoteProtocolError."""
    return from_object(parse(raw))


def parse(raw: bytes | str) -> dict[str, Any]:
    """The JSON object a message on the channel is; anything else raises RemoteProtocolError."""
    try:
        data = jsoncodec.loads(raw)
    except RemoteProtocolError as exc:
        raise RemoteProtocolError("queue message is not JSON") from exc
    if not isinstance(data, dict):
        raise RemoteProtocolError("queue message is not a JSON object")
    return data


def emit_targets(data: dict[str, Any]) -> tuple[str, list[str] | None] | None:
    """For a parsed emit of this schema that asks no ack: its namespace and rooms (None: everyone),
    read before the rest is checked or decoded, so a process with no member there can skip it.
    None for any other message (or one whose fields are not as they should be)."""
    if data.get("kind") != "emit" or data.get("v") != VERSION or data.get("id"):
        return None
    namespace, to = data.get("ns"), data.get("to")
    if not isinstance(namespace, str) or not (
        to is None or (isinstance(to, list) and all(isinstance(t, str) for t in to))
    ):
        return None
    return namespace, to


def from_object(data: dict[str, Any]) -> QueueMessage:
    """The message a parsed JSON object of this schema stands for."""
    if data.get("v") != VERSION:
        raise RemoteProtocolError(f"unsupported queue message version {data.get('v')!r}")
    given = _str(data.get("kind"), "kind")
    if given not in KINDS:
        raise RemoteProtocolError(f"unknown queue message kind {given!r}")
    kind = Kind(given)
    fields: dict[str, Any] = {}
    optional = _OPTIONAL.get(kind, set())
    for name in _FIELDS[kind]:
        if name not in data:
            if name in optional:
                continue
            raise RemoteProtocolError(f"queue message {kind!r} lacks {name!r}")
        value = data[name]
        if name == "bin":
            try:
                fields["attachments"] = tuple(b64decode(a, validate=True) for a in _strings(value, "bin"))
            except (binascii.Error, ValueError) as exc:
                raise RemoteProtocolError("queue message attachment is not base64") from exc
        elif name == "to":
            fields["to"] = None if value is None else _strings(value, "to")
        elif name == "skip":
            fields["skip"] = _strings(value, "skip")
        elif name == "sockets":
            fields["sockets"] = _sockets(value)
        elif name == "details":
            if not isinstance(value, bool):
                raise RemoteProtocolError("queue message field 'details' must be true or false")
            fields["details"] = value
        else:
            fields[name] = _str(value, name)
    return QueueMessage(kind, _str(data.get("node"), "node"), _str(data.get("ns"), "ns"), **fields)
