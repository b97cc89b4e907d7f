"""Flask's private context API, in one place (front layer): the fast request context of a handler call.

Flask 3.0 and 3.1 keep the current contexts in ``flask.globals._cv_app`` and
``_cv_request``; setting them directly, instead of building and pushing a full
``RequestContext`` per event, was a quarter of a handler call's cost.  Flask's
main branch has merged the request context into the app context, so these
names go away: :mod:`surge.flask_context` imports this module only if it
can, and otherwise uses Flask's public API.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import Token
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

T = TypeVar("T")


class SocketRequestContext(RequestContext):
    """The request context of a Socket.IO handler call.

    Every handler call of a socket gets its own context (a :class:`CallContext`)
    and, when it reads ``request``, its own shallow copy of the request, made
    from one prototype built at the socket's first handler: building a context
    from scratch (URL adapter, URL match against the Flask routes) was over a
    third of an async handler call's cost in the profile.

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

    def open_session(self) -> SessionMixin | None:
        """Flask's session for the socket's connect request."""
        return self.app.session_interface.open_session(self.app, self.request)

    def use_session(self, session: SessionMixin) -> None:
        """Every call made from this prototype sees ``session`` (the managed session)."""
        self._session = session

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

    def for_call(self, event: dict[str, Any] | None) -> SocketRequestContext:
        """The context of one handler call: what every call needs now, its request when first read."""
        call = CallContext.__new__(CallContext)  # attributes set one by one: the fastest way measured
        call.app = self.app
        call._session = self._session
        call.saves_session = self.saves_session
        call._prototype = self
        call._event = event
        return call

    def push(self) -> None:
        app = self.app
        if self._session is None:
            session_interface = app.session_interface
            self._session = session_interface.open_session(app, self.request) or session_interface.make_null_session(
                app
            )
        current = _cv_app.get(None)
        if current is None or current.app is not app:
            context = CallAppContext.__new__(CallAppContext)
            context.app = app
            self._app_token = _cv_app.set(context)
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

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, traceback: Any) -> None:
        self.pop(exc)


class _MadeOnFirstRead:
    """An attribute of a call's context made when first read, then an ordinary instance attribute.

    A class-level descriptor without ``__set__``: Python asks it only while the instance has
    no value, so a miss costs one call, where ``__getattr__`` came after an ``AttributeError``
    raised and caught (a handler's first ``request.sid``: 1.56 -> 1.2 µs).
    """

    def __init__(self, make: Callable[[Any], Any]) -> None:
        self.make = make
        self.name = make.__name__

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.make(obj)
        return value


class CallContext(SocketRequestContext):
    """A handler call's request context, whose request copy and per-request lists are made on first use.

    A handler that never reads ``request`` (or flashes, or registers an ``after_this_request``)
    costs no copy of the socket's request: making a call's context went from 0.65 to 0.15 µs.
    """

    _prototype: SocketRequestContext
    _event: dict[str, Any] | None

    @_MadeOnFirstRead
    def request(self) -> Any:
        value: Any = _shallow_copy(self._prototype.request)
        value.event = self._event
        return value

    @_MadeOnFirstRead
    def _after_request_functions(self) -> list[Any]:
        return []

    @_MadeOnFirstRead
    def _cv_tokens(self) -> list[Any]:
        return []

    @_MadeOnFirstRead
    def flashes(self) -> None:
        return None

    @_MadeOnFirstRead
    def url_adapter(self) -> Any:
        return self._prototype.url_adapter


class CallAppContext(AppContext):
    """A handler call's app context, whose ``g`` is made on first use (most handlers never touch it).

    Made with no ``__init__`` (0.09 µs against ``AppContext(app)``'s 0.26, which also builds ``g``
    and a URL adapter).
    """

    @_MadeOnFirstRead
    def g(self) -> Any:
        return self.app.app_ctx_globals_class()

    @_MadeOnFirstRead
    def _cv_tokens(self) -> list[Any]:
        return []

    @_MadeOnFirstRead
    def url_adapter(self) -> Any:
        return self.app.create_url_adapter(None)


def current_call() -> tuple[Flask, Any] | None:
    """The current app and request, read without Flask's proxies (each lookup through them costs
    about as much as the rest of a ``join_room``); ``None`` outside a request context."""
    ctx = _cv_request.get(None)
    if ctx is None:
        return None
    if type(ctx) is not CallContext:
        return _cv_app.get().app, ctx.request
    # A handler call's request not read yet is its socket's, unchanged: no copy made for this.
    request = ctx.__dict__.get("request")
    return _cv_app.get().app, ctx._prototype.request if request is None else request


def _shallow_copy(obj: T) -> T:
    """``copy.copy`` for plain objects, without its generic (and slow) reduce protocol."""
    new = object.__new__(type(obj))
    new.__dict__ = obj.__dict__.copy()  # faster than updating the new, empty __dict__
    return new
