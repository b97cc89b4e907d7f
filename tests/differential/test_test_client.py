"""The same test-client sessions on Flask-SocketIO and on Surge: what the tests see must be equal.

Each scenario drives ``socketio.test_client`` of one library against the app of
``tests/differential/app.py`` built with that library, and returns what it saw
(acks, received events, exceptions by type).  The test runs it on both and
compares; a difference is a Surge bug unless it is in ``EXPECTED`` with its
reason (and in docs/compatibility.md).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import flask_socketio
import pytest

import surge
from tests.differential.app import build

Scenario = Callable[[Callable[..., Any], Any], list[Any]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(fn: Scenario) -> Scenario:
    SCENARIOS[fn.__name__] = fn
    return fn


def attempt(call: Callable[[], Any]) -> Any:
    """What a call returned, or the name of the exception it raised."""
    try:
        return call()
    except Exception as exc:
        return {"raises": type(exc).__name__}


def run(lib: ModuleType, fn: Scenario, **options: Any) -> list[Any]:
    app, socketio = build(lib, **options)

    def client(**kwargs: Any) -> Any:
        return socketio.test_client(app, **kwargs)

    return fn(client, app)


# -- the scenarios ------------------------------------------------------------------------------


@scenario
def acks_of_every_shape(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    seen: list[Any] = [c.emit("echo", callback=True), c.emit("echo", 1, callback=True)]
    seen.append(c.emit("echo", 1, "2", {"three": [3]}, callback=True))
    for kind in ("none", "tuple", "single", "empty", "list", "dict", "str", "false", "bytes"):
        seen.append([kind, c.emit("ret", kind, callback=True)])
    seen.append(c.emit("echo", "no ack wanted"))
    seen.append(c.send("a message", callback=True))
    seen.append(c.send({"a": "json"}, json=True, callback=True))
    seen.append(c.get_received())
    return seen


@scenario
def emit_and_send_forms(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    c.emit("emit_forms")
    c.emit("forward", 1, [2], {"3": 3})
    c.emit("forward")
    return c.get_received()


@scenario
def request_event_and_catch_alls(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    seen = [c.emit("event_info", 1, "2", callback=True), c.emit("event_info", callback=True)]
    seen += [c.emit("mark", callback=True), c.emit("mark", callback=True)]
    seen.append(c.emit("unknown_event", {"d": 1}, callback=True))
    seen.append(c.emit("unknown_event", 1, 2, callback=True))
    seen.append(c.get_received())
    plain = client(namespace="/plain")
    seen.append(plain.emit("wild", "w", namespace="/plain", callback=True))
    seen.append(plain.emit("no_handler_here", namespace="/plain", callback=True))
    seen.append(plain.get_received("/plain"))
    return seen


@scenario
def rooms_and_targets(client: Callable[..., Any], app: Any) -> list[Any]:
    a, b, c = client(), client(), client()
    seen: list[Any] = []
    seen.append(b.emit("join", "y", callback=True))
    seen.append(a.emit("join", "x", callback=True))
    seen.append(a.emit("join", "y", callback=True))
    seen.append(b.emit("join", "x", callback=True))
    seen.append(c.emit("join", "x", callback=True))
    for client_ in (a, b, c):
        client_.get_received()
    a.emit("to_room", "x", "to x")
    a.emit("to_room_skip", "x", "to x but not me")
    a.emit("to_room_not_me", "x", "to x, include_self=False")
    a.emit("send_room", "y", "sent to y")
    a.emit("shout", "to all but me")
    a.emit("to_all", "to all")
    seen.append([a.get_received(), b.get_received(), c.get_received()])
    seen.append(b.emit("leave", "x", callback=True))
    seen.append(a.emit("close", "x", callback=True))
    seen.append(c.emit("join", "z", callback=True))
    a.emit("to_room", "x", "x is closed")
    seen.append([a.get_received(), b.get_received(), c.get_received()])
    return seen


@scenario
def personal_rooms(client: Callable[..., Any], app: Any) -> list[Any]:
    a, b = client(), client()
    seen = [a.emit("join", "x", callback=True), a.emit("own_room", "leave", callback=True)]
    b.emit("own_room", "to_others")
    seen.append(a.get_received())  # out of its own room: an emit to its sid misses it
    seen.append(a.emit("own_room", "join", callback=True))  # back in, the room made anew: listed last
    b.emit("own_room", "to_others")
    seen.append(a.get_received())
    for action in ("join_other", "close_other", "server_join_other"):
        seen.append(b.emit("own_room", action, callback=True))
    seen.append([a.get_received(), b.get_received(), a.emit("own_room", "stay", callback=True)])
    return seen


@scenario
def connect_auth_and_refusals(client: Callable[..., Any], app: Any) -> list[Any]:
    seen: list[Any] = []
    for auth in ({"refuse": "false"}, {"refuse": "lib"}, {"refuse": "lib-bare"}, {"refuse": "builtin"}):
        c = client(auth=auth)
        seen.append([auth, c.is_connected(), attempt(c.get_received)])
    greeted = client(auth={"greet": True}, query_string="?foo=bar&foo=baz")
    seen.append([greeted.is_connected(), greeted.get_received(), greeted.emit("get", "auth", callback=True)])
    seen.append(client(query_string="foo=1", headers={"X-Test": "yes"}).emit("query", callback=True))
    return seen


@scenario
def errors_and_error_handlers(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    seen = [attempt(lambda: c.emit("boom", callback=True)), c.get_received()]
    plain = client(namespace="/plain")
    seen.append(attempt(lambda: plain.emit("boom", namespace="/plain", callback=True)))
    seen.append(attempt(lambda: client(auth={"refuse": "error"}).is_connected()))
    chat = client(namespace="/chat")
    seen.append(attempt(lambda: chat.emit("boom", namespace="/chat", callback=True)))
    return seen


@scenario
def class_based_namespaces(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client(namespace="/chat")
    seen = [c.is_connected("/chat"), c.get_received("/chat")]
    seen.append(c.emit("hello", {"n": 1}, namespace="/chat", callback=True))
    seen.append(c.emit("join", "lobby", namespace="/chat", callback=True))
    seen.append(c.emit("no_such_method", namespace="/chat", callback=True))
    c.emit("to_room", "lobby", "to the lobby", namespace="/chat")
    seen.append(c.get_received("/chat"))
    traced = client(namespace="/traced")
    seen.append(traced.emit("anything", 1, "2", namespace="/traced", callback=True))
    return seen


@scenario
def disconnects(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    chat = client(namespace="/chat")
    seen = [c.is_connected()]
    c.emit("kick")
    seen.append(c.is_connected())
    seen.append(attempt(lambda: c.emit("echo", 1)))
    seen.append(attempt(c.get_received))
    seen.append(attempt(c.disconnect))
    chat.disconnect(namespace="/chat")
    seen.append(attempt(lambda: chat.disconnect(namespace="/chat")))
    seen.append(app.extensions["socketio"].disconnects)
    return seen


@scenario
def client_details(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    seen = [attempt(lambda: c.emit("echo", 1, broadcast=True, callback=True))]
    seen.append(attempt(lambda: c.emit("echo", object(), callback=True)))
    seen.append(attempt(lambda: c.emit("echo", 1, namespace="/nowhere")))
    seen.append(attempt(lambda: c.get_received("/nowhere")))
    seen.append(c.is_connected("/nowhere"))
    c.connect(namespace="/plain")
    seen.append([c.is_connected("/plain"), c.get_received("/plain"), c.get_received()])
    return seen


@scenario
def server_facade(client: Callable[..., Any], app: Any) -> list[Any]:
    a, b = client(), client()
    seen = [b.emit("join", "r", callback=True), a.emit("server_api", "r", callback=True)]
    seen.append(a.emit("server_api", "r", callback=True))
    seen.append([a.get_received(), b.get_received()])
    client(namespace="/chat")
    manager = app.extensions["socketio"].server.manager
    sid = manager.sid_from_eio_sid(a.eio_sid, "/")
    seen.append([sid is not None, manager.eio_sid_from_sid(sid, "/") == a.eio_sid, sorted(manager.get_namespaces())])
    return seen


@scenario
def registration_forms_and_namespace_methods(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    seen = [c.emit("named_after_the_function", 1, callback=True), c.emit("plain_function", 2, callback=True)]
    seen.append(c.emit("join", "doomed", callback=True))
    seen.append(c.emit("close_from_server", "doomed", callback=True))
    plain = client(namespace="/plain")
    seen.append(plain.emit("plain_named", 3, namespace="/plain", callback=True))
    chat = client(namespace="/chat")
    chat.get_received("/chat")
    seen.append(chat.emit("rooms_api", "r", namespace="/chat", callback=True))
    chat.emit("leave_me", namespace="/chat")
    seen.append(chat.is_connected("/chat"))
    seen.append(app.extensions["socketio"].disconnects)
    return seen


@scenario
def sessions_shared_with_http(client: Callable[..., Any], app: Any) -> list[Any]:
    """The session a handler sees, and what the routes see of its writes, with every session setup."""
    flask_client = app.test_client()
    flask_client.get("/login/ada")
    c = client(flask_test_client=flask_client)
    seen = [c.emit("get", "user", callback=True)]
    c.emit("set", "color", "blue")
    seen.append(c.emit("get", "color", callback=True))
    seen.append(flask_client.get("/session/color").get_json())
    seen.append(client(flask_test_client=flask_client).emit("get", "color", callback=True))
    return seen


@scenario
def app_json_provider(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    seen = [c.emit("typed", callback=True), c.get_received()]
    c.emit("typed_from_a_thread")
    seen.append(c.get_received())
    return seen


def test_flask_json_module_uses_the_apps_provider_as_flask_socketio_does() -> None:
    import flask
    from socketio import packet

    default = packet.Packet.json
    try:
        expected = run(flask_socketio, app_json_provider, json=flask.json)
    finally:
        packet.Packet.json = default  # python-socketio sets it process-wide
    assert run(surge, app_json_provider, json=flask.json) == expected
    assert expected[0]["when"] == "Tue, 01 Dec 2026 11:00:00 GMT"


@scenario
def emits_are_snapshots(client: Callable[..., Any], app: Any) -> list[Any]:
    c = client()
    seen: list[Any] = []
    for where in ("handler", "send", "thread"):
        seen += [c.emit("emit_then_change", where, callback=True), c.get_received()]
    for kind in ("object", "datetime", "uuid", "set", "bytes_in_a_tuple"):
        seen.append(c.emit("emit_refused", kind, callback=True))
    c.emit("emit_edges")
    received = c.get_received()
    nan = received[0]["args"][0]
    received[0]["args"][0] = "NaN" if nan != nan else nan  # NaN equals nothing, itself included
    return [*seen, received]


@scenario
def namespaces_accepted(client: Callable[..., Any], app: Any) -> list[Any]:
    """namespaces= accepts connections to namespaces that have no handlers."""
    return [client(namespace=ns).is_connected(ns) for ns in ("/extra", "/other", "/chat")]


# Scenario -> the app's build options it runs with (the default is none).
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    (name, {}) for name in sorted(SCENARIOS) if name != "app_json_provider"
] + [
    ("sessions_shared_with_http", {"manage_session": False}),
    ("sessions_shared_with_http", {"manage_session": False, "server_sessions": True}),
    ("sessions_shared_with_http", {"server_sessions": True}),
    ("connect_auth_and_refusals", {"error_handlers": False}),
    ("errors_and_error_handlers", {"error_handlers": False}),
    ("rooms_and_targets", {"async_handlers": False}),
    ("namespaces_accepted", {"namespaces": ["/extra"]}),
    ("namespaces_accepted", {"namespaces": "*"}),
    ("acks_of_every_shape", {"factory": True}),
    ("registration_forms_and_namespace_methods", {"factory": True}),
]


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=[f"{n}-{o}" if o else n for n, o in VARIANTS])
def test_same_as_flask_socketio(name: str, options: dict[str, Any]) -> None:
    fn = SCENARIOS[name]
    assert run(surge, fn, **options) == run(flask_socketio, fn, **options)


def handshake_cookies(lib: ModuleType, cookie: Any) -> list[str]:
    """The Set-Cookie headers of a polling handshake through the app's WSGI entry (sid written <sid>)."""
    import json

    from flask import Flask

    app = Flask(__name__)
    lib.SocketIO(app, cookie=cookie)
    response = app.test_client().get("/socket.io/?EIO=4&transport=polling")
    sid = json.loads(response.data[1:])["sid"]
    return [value.replace(sid, "<sid>") for value in response.headers.getlist("Set-Cookie")]


@pytest.mark.parametrize("cookie", ["io", {"name": "sticky", "path": "/x", "Secure": True, "Max-Age": "60"}, None])
def test_the_cookie_option_sets_the_sid_cookie_as_python_engineio_does(cookie: Any) -> None:
    assert handshake_cookies(surge, cookie) == handshake_cookies(flask_socketio, cookie)


def emits_before_any_client(lib: ModuleType) -> list[Any]:
    """What socketio.emit and close_room do before the server runs (no test client yet)."""
    from flask import Flask

    socketio = lib.SocketIO(Flask(__name__))
    return [attempt(lambda: socketio.emit("tick", 1)), attempt(lambda: socketio.close_room("room"))]


def test_emits_before_the_server_runs_reach_nobody_as_in_flask_socketio() -> None:
    assert emits_before_any_client(surge) == emits_before_any_client(flask_socketio) == [None, None]
