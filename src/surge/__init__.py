"""Surge: a fast Socket.IO server for Flask with the Flask-SocketIO API.

Change ``from flask_socketio import ...`` to ``from surge import ...``.
"""

from surge.errors import ConnectionRefusedError, SurgeError
from surge.flask import (
    SocketIO,
    call,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
    send,
)
from surge.namespace import Namespace

__all__ = [
    "ConnectionRefusedError",
    "Namespace",
    "SocketIO",
    "SurgeError",
    "call",
    "close_room",
    "disconnect",
    "emit",
    "join_room",
    "leave_room",
    "rooms",
    "send",
]
