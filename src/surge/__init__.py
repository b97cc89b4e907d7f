"""Surge: a fast Socket.IO server for Flask with the Flask-SocketIO API.

Change ``from flask_socketio import ...`` to ``from surge import ...``.
"""

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("surge")  # pyproject.toml's, the one place it is written
except PackageNotFoundError:  # pragma: no cover - the source tree on PYTHONPATH without an install
    __version__ = "0+unknown"

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
