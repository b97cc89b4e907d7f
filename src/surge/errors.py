"""The exception tree of Surge, rooted at :class:`SurgeError`."""

from __future__ import annotations

from surge.protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError, SurgeError

__all__ = [
    "ConnectionRefusedError",
    "DisconnectedError",
    "LocalProtocolError",
    "ProtocolError",
    "RemoteProtocolError",
    "SurgeError",
]


class ConnectionRefusedError(SurgeError):
    """Raise from a ``connect`` handler to refuse the connection.

    The arguments reach the client in the CONNECT_ERROR packet: none gives a
    default message, one becomes the message, more become ``data``.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.error_args: dict[str, object] = {"message": str(args[0]) if args else "Connection rejected by server"}
        if len(args) == 2:
            self.error_args["data"] = args[1]
        elif len(args) > 2:
            self.error_args["data"] = list(args[1:])


class DisconnectedError(SurgeError, ConnectionError):
    """The client went away before answering a ``call()``."""
