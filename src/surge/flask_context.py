"""The Flask request context of a Socket.IO handler call (front layer).

Every handler call runs in a request context of its own, built from the
socket's connect request, with ``request.sid``, ``request.namespace`` and
``request.event`` set and, with ``manage_session=True``, the socket's copy of
the session.  :data:`HandlerContext` is the class that makes them:

- the fast one of :mod:`surge._flask_internals`, which sets Flask's private
  context variables itself (Flask 3.0 and 3.1);
- else :class:`PublicRequestContext`, which uses Flask's public API only
  (``app.request_context(environ)`` per call), for a Flask release without
  those internals, or when ``SURGE_FLASK_CONTEXT=public`` is set (the test
  suite runs the front tests once that way).

Both have the same surface: ``prototype(app, socket)`` once per socket,
``open_session()``/``use_session()`` for the managed session,
``for_call(event)`` per call (a context manager), ``error`` and
``handler_returned()``.  :func:`current_call` gives the current app and
request, for the context functions (``emit()``, ``join_room()``...).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flask
from flask.sessions import SessionInterface, SessionMixin

if TYPE_CHECKING:
    from types import TracebackType

    from flask import Flask

    from surge.server.core import SioSocket

MANAGED = "surge.managed_session"  # environ key: the socket's managed session (public path)


class PublicRequestContext:
    """A handler call's context through Flask's public API: slower, and independent of Flask's internals."""

    error: BaseException | None = None
    saves_session = False  # manage_session=False: Flask's session is saved after each handler

    def __init__(self, app: Flask, environ: dict[str, Any], sid: str, namespace: str) -> None:
        self.app = app
        self.environ = environ
        self.sid = sid
        self.namespace = namespace
        self.event: dict[str, Any] | None = None
        self._ctx: Any = None

    @classmethod
    def prototype(cls, app: Flask, socket: SioSocket) -> PublicRequestContext:
        # A copy: the managed session is kept in it, per socket.
        return cls(app, dict(socket.environ), socket.sid, socket.namespace)

    def open_session(self) -> SessionMixin | None:
        return self.app.session_interface.open_session(self.app, self.app.request_class(self.environ))

    def use_session(self, session: SessionMixin) -> None:
        self.environ[MANAGED] = session
        if not isinstance(self.app.session_interface, _ManagedSessions):
            self.app.session_interface = _ManagedSessions(self.app.session_interface)

    def for_call(self, event: dict[str, Any] | None) -> PublicRequestContext:
        call = PublicRequestContext(self.app, self.environ, self.sid, self.namespace)
        call.event = event
        call.saves_session = self.saves_session
        return call

    def __enter__(self) -> PublicRequestContext:
        self._ctx = self.app.request_context(self.environ)
        self._ctx.push()
        request: Any = flask.request._get_current_object()  # type: ignore[attr-defined]
        request.sid, request.namespace, request.event = self.sid, self.namespace, self.event
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._ctx.pop(exc or self.error)

    def handler_returned(self) -> None:
        """Save the session the handler modified (server-side sessions), as Flask-SocketIO does."""
        if self.saves_session:
            session = flask.session._get_current_object()  # type: ignore[attr-defined]
            if getattr(session, "modified", True):
                self.app.session_interface.save_session(self.app, session, self.app.response_class())


class _ManagedSessions(SessionInterface):
    """The app's session interface, but a Socket.IO call's request gets its socket's managed session."""

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner

    def open_session(self, app: Flask, request: Any) -> SessionMixin | None:
        managed: SessionMixin | None = request.environ.get(MANAGED)
        return managed if managed is not None else self.inner.open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        self.inner.save_session(app, session, response)

    def make_null_session(self, app: Flask) -> Any:
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)


def _public_current_call() -> tuple[Flask, Any] | None:
    if not flask.has_request_context():
        return None
    return flask.current_app._get_current_object(), flask.request._get_current_object()  # type: ignore[attr-defined]


def _choose() -> tuple[Any, Callable[[], tuple[Flask, Any] | None]]:
    if os.environ.get("SURGE_FLASK_CONTEXT") == "public":
        return PublicRequestContext, _public_current_call
    try:
        from surge._flask_internals import SocketRequestContext, current_call
    except ImportError:  # a Flask without the private names this relies on
        return PublicRequestContext, _public_current_call
    return SocketRequestContext, current_call


HandlerContext: Any
# current_call(): (current app, current request) in a request context, else None.
HandlerContext, current_call = _choose()
