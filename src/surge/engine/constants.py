"""The names the layers share, each spelled once (engine layer, no I/O).

:class:`Reason` is why a session or a socket ended, with python-socketio's
strings: ``SocketIO.reason`` is this class, and disconnect handlers receive
these values.  :class:`Transport` is an Engine.IO transport as the ``transport``
query parameter names it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Reason:
    """Disconnect reasons (python-socketio's ``Server.reason``)."""

    CLIENT_DISCONNECT: Final = "client disconnect"
    SERVER_DISCONNECT: Final = "server disconnect"
    PING_TIMEOUT: Final = "ping timeout"
    TRANSPORT_CLOSE: Final = "transport close"
    TRANSPORT_ERROR: Final = "transport error"


# Why the engine closes every session when the server stops.  Node's socket.io keeps the sessions
# it closes so for connection state recovery (its clients come back to another process, or to the
# restarted one); disconnect handlers receive SERVER_DISCONNECT for it, python-socketio's reason then.
SHUTDOWN = "server shutting down"


class EioError:
    """Engine.IO errors of HTTP 400 answers: (code, message) (Engine.IO protocol, "Errors")."""

    TRANSPORT_UNKNOWN: Final = (0, "Transport unknown")
    SESSION_ID_UNKNOWN: Final = (1, "Session ID unknown")
    BAD_HANDSHAKE_METHOD: Final = (2, "Bad handshake method")
    BAD_REQUEST: Final = (3, "Bad request")
    BAD_ORIGIN: Final = (3, "Not an accepted origin")  # answered without CORS headers: the refused page may not read it
    UNSUPPORTED_PROTOCOL_VERSION: Final = (5, "Unsupported protocol version")


class Transport(StrEnum):
    """Engine.IO transports; members compare equal to the query's strings."""

    POLLING = "polling"
    WEBSOCKET = "websocket"


# The members as module constants for the hot paths: on Python 3.11 an Enum class
# attribute costs ten times a global lookup (123 ns against 12 ns here, per message).
POLLING = Transport.POLLING
WEBSOCKET = Transport.WEBSOCKET
