"""What the Socket.IO server tells an observer of its sockets (server layer): the Admin UI's reports, surge.admin."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from surge.engine.outgoing import Outgoing

SioSocket = Any  # surge.server.core's, which imports this module (no cycle, even for type checking)


class Observer(Protocol):
    """Told what happens to sockets, on the loop thread (the Admin UI's reports, surge.admin).

    ``received`` and ``sent`` are called only while ``SioServer.observe_events`` is set.
    """

    def connected(self, socket: SioSocket) -> None: ...

    def disconnected(self, socket: SioSocket, reason: str, rooms: list[str]) -> None: ...

    def joined(self, socket: SioSocket, room: str) -> None: ...

    def left(self, socket: SioSocket, room: str) -> None: ...

    def upgraded(self, socket: SioSocket) -> None: ...

    def received(self, socket: SioSocket, data: list[Any]) -> None: ...

    def sent(self, namespace: str, to: str | Iterable[str] | None, skip: Iterable[str], message: Outgoing) -> None:
        """``message`` goes to the sockets ``targets(namespace, to, skip)`` names."""
