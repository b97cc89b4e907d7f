"""How a handler call runs (front layer): how to call it, eagerly for ``async def``, counted for tests.

A :class:`HandlerRecord` is decided at registration; ``async def`` handlers run
eagerly up to their first real wait; :class:`Activity` lets the test client
wait until a client's handlers are done.  Each call's Flask request context
comes from :mod:`surge.flask_context`.
"""

from __future__ import annotations

import inspect
import threading
import types
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask.sessions import SessionMixin

if TYPE_CHECKING:
    from surge.flask_context import HandlerContext
    from surge.server.core import SioSocket

Handler = Callable[..., Any]
Done = Callable[["SioSocket", Any, BaseException | None], None]
EventInfo = dict[str, Any]  # request.event: {"message": registered name, "args": the handler's arguments}
Job = tuple["SioSocket", EventInfo | None, Handler, bool, tuple[Any, ...], Done | None]


@dataclass(frozen=True, slots=True)
class HandlerRecord:
    """A handler and how to call it, decided at registration."""

    fn: Handler
    is_async: bool
    takes_extra: bool  # connect: takes ``auth``; disconnect: takes ``reason``

    @classmethod
    def of(cls, fn: Handler) -> HandlerRecord:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        ]
        return cls(fn, inspect.iscoroutinefunction(fn), bool(params))


class ManagedSession(dict[str, Any], SessionMixin):
    """The Flask session as Socket.IO handlers see it: a copy taken at connect."""


class SocketState:
    """Per-socket data of the front."""

    __slots__ = ("activity", "busy", "context", "queue", "sio_session")

    def __init__(self) -> None:
        self.context: HandlerContext | None = None  # the prototype of each handler call's context
        # async_handlers=False: a handler of this socket is running; the next ones wait here.
        self.busy = False
        self.queue: deque[Job] | None = None  # made when needed: an idle socket should cost little
        self.activity: Activity | None = None  # a test client waits on its handlers through this
        self.sio_session: dict[str, Any] | None = None  # python-socketio's per-client session (get_session)


@types.coroutine
def drive_coroutine(coro: Coroutine[Any, Any, Any], awaited: Any) -> Any:
    """Go on driving a coroutine that already ran up to ``awaited`` (send/throw pass through)."""
    while True:
        try:
            value = yield awaited
        except BaseException as exc:
            try:
                awaited = coro.throw(exc)
            except StopIteration as stop:
                return stop.value
        else:
            try:
                awaited = coro.send(value)
            except StopIteration as stop:
                return stop.value


async def continue_coroutine(coro: Coroutine[Any, Any, Any], awaited: Any) -> Any:
    return await drive_coroutine(coro, awaited)


class Activity:
    """Counts the handlers at work for one test client, so it can wait until they are done."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()
        self.error: BaseException | None = None  # a handler's exception no error handler took

    def begin(self) -> None:
        with self._idle:
            self._count += 1

    def end(self) -> None:
        with self._idle:
            self._count -= 1
            if self._count == 0:
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)

    @property
    def busy(self) -> bool:
        with self._idle:
            return self._count > 0
