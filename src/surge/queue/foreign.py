"""python-socketio's queue messages, understood (queue layer): Flask-SocketIO processes share Surge's channel.

A Flask-SocketIO process (a Celery worker's write-only emitter, or half a fleet
during a migration) publishes JSON objects with a ``method``: ``emit``,
``enter_room``, ``leave_room``, ``close_room``, ``disconnect`` or
``callback``.  :func:`translate` turns one into the :class:`QueueMessage` Surge
would have sent for it.  What Surge cannot honour is logged and the rest done:
an emit asking for an ack is delivered without one (the ack would have to go
back to a python-socketio process as its own ``callback`` message).
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from surge.protocol import sio
from surge.protocol.errors import RemoteProtocolError
from surge.protocol.sio import SioPacket, SioType
from surge.queue import messages
from surge.queue.messages import Kind, QueueMessage

log = logging.getLogger("surge.queue")

ROOM_METHODS = {"enter_room": Kind.ENTER_ROOM, "leave_room": Kind.LEAVE_ROOM, "disconnect": Kind.DISCONNECT}


def decode(data: dict[str, Any]) -> QueueMessage | None:
    """A parsed message from the channel, Surge's or python-socketio's (None: nothing to do for it)."""
    if "method" in data and "v" not in data:
        return translate(data)
    return messages.from_object(data)


def translate(data: dict[str, Any]) -> QueueMessage | None:
    """The Surge message for python-socketio's message ``data``; None for one there is nothing to do for."""
    method = data.get("method")
    node = "python-socketio:" + str(data.get("host_id"))
    namespace = data.get("namespace") or "/"
    if not isinstance(namespace, str):
        raise RemoteProtocolError("python-socketio message with a bad namespace")
    if method == "emit":
        return _emit(data, node, namespace)
    if method in ROOM_METHODS:
        return QueueMessage(ROOM_METHODS[method], node, namespace, sid=_text(data.get("sid")), room=_room(data))
    if method == "close_room":
        return QueueMessage(Kind.CLOSE_ROOM, node, namespace, room=_room(data))
    if method == "callback":
        return None  # an ack for a python-socketio process: not ours
    raise RemoteProtocolError(f"unknown python-socketio message method {method!r}")


def _emit(data: dict[str, Any], node: str, namespace: str) -> QueueMessage:
    event, args = data.get("event"), data.get("data")
    if not isinstance(event, str):
        raise RemoteProtocolError("python-socketio emit without an event name")
    if data.get("binary"):
        # [the data with placeholders, base64 attachments...], as python-socketio deconstructs it
        if not isinstance(args, list) or not args:
            raise RemoteProtocolError("python-socketio emit with bad binary attachments")
        try:
            binaries = [base64.b64decode(a) for a in args[1:]]
        except (TypeError, ValueError) as exc:
            raise RemoteProtocolError("python-socketio emit with bad binary attachments") from exc
        args = sio.reconstruct(args[0], binaries)
    # As python-socketio's receiver reads it: a list (5.15 and later wrap every emit's data in one) is
    # the arguments, but a list of one is that one value; anything else (5.14 publishes the data
    # bare) is one value; and a value None is no argument at all.
    if not isinstance(args, list) or len(args) == 1:
        value = args[0] if isinstance(args, list) else args
        args = [] if value is None else [value]
    text, attachments = sio.encode(SioPacket(SioType.EVENT, namespace, [event, *args]))
    if data.get("callback") is not None:
        log.warning("a python-socketio process asked for an ack of %r: delivered without one", event)
    room = data.get("room")
    to = None if room is None else tuple(room) if isinstance(room, list) else (_text(room),)
    skip = data.get("skip_sid")
    skips = () if skip is None else tuple(skip) if isinstance(skip, list) else (_text(skip),)
    return QueueMessage(Kind.EMIT, node, namespace, text, tuple(attachments), to, skips)


def _room(data: dict[str, Any]) -> str:
    return _text(data.get("room"))


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise RemoteProtocolError("python-socketio message with a field that is not text")
    return value
