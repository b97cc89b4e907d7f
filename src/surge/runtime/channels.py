"""What the Engine.IO server writes to (runtime layer): a WebSocket channel and an HTTP responder,
as the built-in server, the ASGI adapter and the test client each provide them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from surge.engine.outgoing import Outgoing
from surge.runtime.request import Request, SessionEnviron


class Listener(Protocol):
    """What a channel hands what it receives to: one object, not two callbacks (bound methods cost
    128 bytes an idle connection)."""

    def on_message(self, data: str | bytes) -> None: ...

    def on_close(self) -> None:
        """The channel closed (it calls this once)."""


class Ignore:
    """The listener of a WebSocket closed as soon as it is accepted."""

    def on_message(self, data: str | bytes) -> None:
        pass

    def on_close(self) -> None:
        pass


class Channel(Protocol):
    """A WebSocket as the engine uses it: the built-in one or an ASGI server's."""

    closed: bool

    def send(self, data: str | bytes) -> None: ...

    def send_outgoing(self, message: Outgoing, version: int) -> None: ...

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        """Close the WebSocket; ``code=None`` sends a close frame without a status code."""


class Responder(Protocol):
    """Where the answer to one HTTP request goes: the built-in server's connection or an ASGI one."""

    def respond(self, request: Request, status: int, headers: list[tuple[str, str]], body: bytes = b"") -> None: ...

    def on_lost(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` if the client goes away before this request is answered."""

    def environ(self, request: Request) -> dict[str, Any]: ...

    def session_environ(self, request: Request) -> SessionEnviron:
        """What a session opened by ``request`` keeps to make its environ (surge.runtime.request.ConnectRequest)."""


Accept = Callable[[Listener], Channel]
Refuse = Callable[[tuple[int, str], "str | None"], None]
