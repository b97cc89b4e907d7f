"""How a handler call runs (front layer): its Flask context, eagerly for ``async def``, counted for tests.

Every handler call gets a Flask request context of its own, made cheaply from a
per-socket prototype; ``async def`` handlers run eagerly up to their first real
wait; :class:`Activity` lets the test client wait until a client's handlers are done.
"""

from __future__ import annotations

import inspect
import threading
import types
from collections import deque
from collections.abc import Callable, Coroutine
from contextvars import Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from flask.ctx import AppContext, RequestContext
from flask.globals import _cv_app, _cv_request
from flask.sessions import SessionMixin
from flask.signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_tearing_down,
)

if TYPE_CHECKING:
    from flask import Flask

    from surge.server.core import SioSocket

Handler = Callable[..., Any]
Done = Callable[["SioSocket", Any, BaseException | None], None]
EventInfo = dict[str, Any]  # request.event: {"message": registered name, "args": the handler's arguments}
Job = tuple["SioSocket", EventInfo | None, Handler, bool, tuple[Any, ...], Done | None]
T = TypeVar("T")


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


class SocketRequestContext(RequestContext):
    """The request context of a Socket.IO handler call.

    Every handler call of a socket gets its own context and its own shallow copy
    of the request, made from one prototype built at the socket's first handler:
    building a context from scratch (URL adapter, URL match against the Flask
    routes) was over a third of an async handler call's cost in the profile.

    ``push``/``pop`` do what Flask's do for a request, minus the work that is
    empty here: the URL was routed already, and teardown functions and context
    signals run only when the app has some (they were a quarter of a handler
    call's cost, sending signals nobody listened to).  As in Flask, an app
    context of the same app that is already pushed is reused.  ``error`` is a
    handler's exception that no error handler took: teardown functions see it,
    as they see an exception that escapes a Flask view.
    """

    _app_token: Token[AppContext] | None = None
    _request_token: Token[RequestContext]
    error: BaseException | None = None
    saves_session = False  # manage_session=False: Flask's session is saved after each handler

    def handler_returned(self) -> None:
        """The handler returned: save a session it modified (for server-side sessions), as Flask-SocketIO does."""
        session = self._session
        if self.saves_session and session is not None and getattr(session, "modified", True):
            app = self.app
            app.session_interface.save_session(app, session, app.response_class())

    @classmethod
    def prototype(cls, app: Flask, socket: SioSocket) -> SocketRequestContext:
        """The context every handler call of ``socket`` copies (with no session, each push opens Flask's)."""
        request: Any = app.request_class(socket.environ)
        request.json_module = app.json
        request.sid = socket.sid
        request.namespace = socket.namespace
        return cls(app, socket.environ, request=request)

    def match_request(self) -> None:
        pass  # the URL was routed to Socket.IO already

    def for_call(self, event: EventInfo | None) -> SocketRequestContext:
        """A copy for one handler call, with the per-call state ``RequestContext.__init__`` sets."""
        ctx = _shallow_copy(self)
        request: Any = _shallow_copy(self.request)
        request.event = event
        ctx.request = request
        ctx.flashes = None
        ctx._after_request_functions = []
        return ctx

    def push(self) -> None:
        app = self.app
        if self._session is None:
            session_interface = app.session_interface
            self._session = session_interface.open_session(app, self.request) or session_interface.make_null_session(
                app
            )
        current = _cv_app.get(None)
        if current is None or current.app is not app:
            self._app_token = _cv_app.set(AppContext(app))
            if appcontext_pushed.receivers:
                appcontext_pushed.send(app, _async_wrapper=app.ensure_sync)
        self._request_token = _cv_request.set(self)

    def pop(self, exc: BaseException | None = None) -> None:
        app = self.app
        exc = exc or self.error
        try:
            if app.teardown_request_funcs or request_tearing_down.receivers:
                app.do_teardown_request(exc)
        finally:
            _cv_request.reset(self._request_token)
            if self._app_token is not None:
                try:
                    if app.teardown_appcontext_funcs or appcontext_tearing_down.receivers:
                        app.do_teardown_appcontext(exc)
                finally:
                    _cv_app.reset(self._app_token)
                if appcontext_popped.receivers:
                    appcontext_popped.send(app, _async_wrapper=app.ensure_sync)

    def __enter__(self) -> SocketRequestContext:
        self.push()
        return self


def _shallow_copy(obj: T) -> T:
    """``copy.copy`` for plain objects, without its generic (and slow) reduce protocol."""
    new = object.__new__(type(obj))
    new.__dict__ = obj.__dict__.copy()  # faster than updating the new, empty __dict__
    return new


class SocketState:
    """Per-socket data of the front."""

    __slots__ = ("activity", "busy", "context", "queue", "session", "sio_session")

    def __init__(self) -> None:
        self.context: SocketRequestContext | None = None  # the prototype of each handler call's context
        self.session: ManagedSession | None = None
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
