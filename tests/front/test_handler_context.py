"""The Flask contexts a handler runs in: what Flask-SocketIO gives each event, teardowns and signals included."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask, appcontext_popped, appcontext_pushed, copy_current_request_context, current_app, g, request
from flask.globals import _cv_app, _cv_request
from werkzeug.test import EnvironBuilder

from surge import SocketIO
from surge._flask_internals import SocketRequestContext
from surge.protocol import jsoncodec
from surge.server.core import SioClient, SioSocket
from tests.server.pair import Conn


def make_app() -> tuple[Flask, SocketIO, list[Any]]:
    app = Flask(__name__)
    socketio = SocketIO(app)
    seen: list[Any] = []

    @socketio.on("remember")
    def remember(value: Any) -> Any:
        before = getattr(g, "value", None)
        g.value = value
        return [before, request.event["message"], current_app.name == app.name]

    @socketio.on("remember_async")
    async def remember_async(value: Any) -> Any:
        before = getattr(g, "value", None)
        g.value = value
        return [before, request.event["message"]]

    @socketio.on("in_thread")
    def in_thread() -> Any:
        results: list[Any] = []

        @copy_current_request_context
        def work() -> None:
            results.append([request.sid == flask_request_sid, request.event["message"], getattr(g, "value", None)])

        flask_request_sid = request.sid
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        return results[0]

    @socketio.on("fail")
    def fail() -> None:
        raise ValueError("boom")

    return app, socketio, seen


def test_each_event_gets_a_fresh_g() -> None:
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    assert client.emit("remember", 1, callback=True) == [None, "remember", True]
    assert client.emit("remember", 2, callback=True) == [None, "remember", True]
    assert client.emit("remember_async", 3, callback=True) == [None, "remember_async"]
    assert client.emit("remember_async", 4, callback=True) == [None, "remember_async"]


def test_what_a_handler_sets_on_request_stays_in_its_call() -> None:
    """Each call's request is made when first read (most handlers never read it); still, as in
    Flask-SocketIO, it is a request of its own, made afresh from the connect request."""
    app, socketio, _ = make_app()

    @socketio.on("mark")
    def mark() -> Any:
        before = getattr(request, "mark", None)
        request.mark = "set"  # type: ignore[attr-defined]
        return [before, request.event["message"], request.sid is not None]

    @socketio.on("untouched")
    def untouched() -> str:
        return "no request read"

    client = socketio.test_client(app)
    assert client.emit("mark", callback=True) == [None, "mark", True]
    assert client.emit("untouched", callback=True) == "no request read"
    assert client.emit("mark", callback=True) == [None, "mark", True]


def test_a_copied_request_context_works_in_another_thread() -> None:
    app, socketio, _ = make_app()
    client = socketio.test_client(app)
    assert client.emit("in_thread", callback=True) == [True, "in_thread", None]


def test_teardown_functions_run_after_every_handler_with_its_error() -> None:
    app, socketio, seen = make_app()

    @app.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        seen.append(("request", type(exc).__name__ if exc else None, request.event["message"]))

    @app.teardown_appcontext
    def teardown_appcontext(exc: BaseException | None) -> None:
        seen.append(("app", type(exc).__name__ if exc else None, getattr(g, "value", None)))

    client = socketio.test_client(app)
    seen.clear()  # the connect handler's context tore down too
    client.emit("remember", 7, callback=True)
    assert seen == [("request", None, "remember"), ("app", None, 7)]
    seen.clear()
    client.emit("remember_async", 8, callback=True)
    assert seen == [("request", None, "remember_async"), ("app", None, 8)]
    seen.clear()
    with pytest.raises(ValueError):  # the test client raises what no error handler took, as Flask-SocketIO's
        client.emit("fail")
    assert seen == [("request", "ValueError", "fail"), ("app", "ValueError", None)]


def test_app_context_signals_are_sent_when_someone_listens() -> None:
    app, socketio, seen = make_app()

    def pushed(sender: Flask, **kwargs: Any) -> None:
        seen.append(("pushed", sender is app))

    def popped(sender: Flask, **kwargs: Any) -> None:
        seen.append(("popped", sender is app))

    client = socketio.test_client(app)
    with appcontext_pushed.connected_to(pushed, app), appcontext_popped.connected_to(popped, app):
        client.emit("remember", 1, callback=True)
    assert seen == [("pushed", True), ("popped", True)]


def test_a_handler_context_restores_what_was_there() -> None:
    app = Flask(__name__)
    conn = Conn("e1")
    conn.environ = EnvironBuilder(path="/socket.io/").get_environ()
    socket = SioSocket("s1", "/", SioClient(conn, 10, jsoncodec.loads))
    prototype = SocketRequestContext.prototype(app, socket)
    with app.app_context() as outer:
        with prototype.for_call({"message": "ev", "args": ()}) as ctx:
            assert _cv_app.get() is outer  # an app context of the same app is reused, as Flask does
            assert _cv_request.get() is ctx
            assert (request.sid, request.event) == ("s1", {"message": "ev", "args": ()})
        assert _cv_request.get(None) is None
        assert _cv_app.get() is outer
    with prototype.for_call({"message": "ev", "args": ()}):
        assert _cv_app.get(None) is not None  # one of its own
    with pytest.raises(ValueError), prototype.for_call({"message": "ev", "args": ()}):
        raise ValueError("escapes the handler")
    assert _cv_app.get(None) is None
    assert _cv_request.get(None) is None


def test_the_context_functions_refuse_to_run_outside_a_handler() -> None:
    """No request context, or a Flask route's (a request with no sid): a RuntimeError that says why
    (Flask-SocketIO lets Flask's "outside of application context", or an AttributeError, through)."""
    from surge import emit, join_room

    app, _, _ = make_app()
    for call in (lambda: emit("x"), lambda: join_room("r")):
        with pytest.raises(RuntimeError, match="inside a Socket"):
            call()
        with app.test_request_context("/"), pytest.raises(RuntimeError, match="inside a Socket"):
            call()
