"""What the Socket.IO layer needs of an Engine.IO connection, as a protocol.

The runtime's ``EngineConnection`` is one; the server layer's tests drive it with an
in-memory one.  A protocol, not the class: the layer does not import the runtime, and
the compiled build (setup.py) checks no class at this boundary.
"""

from __future__ import annotations

from typing import Any, Protocol

from surge.engine.outgoing import Outgoing


class Connection(Protocol):
    """An Engine.IO connection as the Socket.IO layer uses it."""

    app_state: Any  # the Socket.IO layer's SioClient
    environ: dict[str, Any]  # the WSGI environ of its handshake (v3 CONNECT packets amend the query)

    @property
    def sid(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def transport(self) -> str: ...
    @property
    def closed(self) -> bool: ...

    def send(self, data: str | bytes) -> None: ...
    def send_outgoing(self, message: Outgoing) -> None: ...
    def send_batch(self, messages: list[Outgoing]) -> None: ...
    def close(self, reason: str) -> None: ...
