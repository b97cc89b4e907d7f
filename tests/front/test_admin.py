"""instrument(): who may sign in, what a read-only or production UI gets, bad arguments (test client).

The protocol itself is compared with Node's (tests/differential/test_admin_node.py); the
UI's page and a cluster are tested with real processes (tests/integration/test_admin.py).
"""

from __future__ import annotations

import time
from typing import Any

import bcrypt
import pytest
from flask import Flask

from surge import SocketIO, join_room
from surge.test_client import SocketIOTestClient

HASH = bcrypt.hashpw(b"secret", bcrypt.gensalt(4)).decode()


def make(auth: Any, **options: Any) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    socketio = SocketIO(app)
    socketio.instrument(auth=auth, ui_path=None, server_stats_interval=0.2, **options)

    @socketio.on("join")
    def join(room: str) -> str:
        join_room(room)
        return room

    return app, socketio


def admin(app: Flask, socketio: SocketIO, auth: Any) -> SocketIOTestClient:
    return socketio.test_client(app, namespace="/admin", auth=auth)


def received(client: SocketIOTestClient, name: str, timeout: float = 3) -> list[Any]:
    """The arguments of the first ``name`` the admin got (waiting for it)."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = client.__dict__.setdefault("seen", [])  # what earlier calls took out
    while time.monotonic() < deadline:
        seen += client.get_received("/admin")
        for event in seen:
            if event["name"] == name:
                return list(event["args"])
        time.sleep(0.02)
    raise AssertionError(f"no {name!r} among {[e['name'] for e in seen]}")


@pytest.mark.parametrize(
    "auth",
    [
        {"username": "admin", "password": "secret"},
        {"username": "admin", "password": HASH},
        [{"username": "other", "password": "x"}, {"username": "admin", "password": HASH}],
        lambda given: given == {"username": "admin", "password": "secret"},
    ],
    ids=["plain", "bcrypt hash", "list", "callable"],
)
def test_the_right_credentials_sign_in_and_others_are_refused(auth: Any) -> None:
    app, socketio = make(auth)
    good = admin(app, socketio, {"username": "admin", "password": "secret"})
    assert good.is_connected("/admin")
    session_id = received(good, "session")[0]
    assert isinstance(session_id, str)
    assert received(good, "config")[0]["supportedFeatures"][:2] == ["EMIT", "JOIN"]
    for wrong in (
        {"username": "admin", "password": "Secret"},
        {"username": "admin"},
        {"username": "admin", "password": "secret", "extra": 1},
        "admin:secret",
        None,
        {"sessionId": "not one we gave"},
    ):
        assert not admin(app, socketio, wrong).is_connected("/admin"), wrong
    assert admin(app, socketio, {"sessionId": session_id}).is_connected("/admin")


def test_auth_false_lets_anyone_in_without_a_session() -> None:
    app, socketio = make(False)
    client = admin(app, socketio, None)
    assert client.is_connected("/admin")
    received(client, "config")
    assert "session" not in [e["name"] for e in client.__dict__["seen"] + client.get_received("/admin")]


def test_read_only_offers_no_action_and_ignores_them(caplog: pytest.LogCaptureFixture) -> None:
    app, socketio = make(False, read_only=True)
    ui = admin(app, socketio, None)
    assert received(ui, "config")[0] == {"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}
    user = socketio.test_client(app)
    ui.emit("_disconnect", "/", False, None, namespace="/admin")
    ui.emit("join", "/", "r1", None, namespace="/admin")
    deadline = time.monotonic() + 3
    while caplog.text.count("refused: instrument(read_only=True)") < 2:
        assert time.monotonic() < deadline, caplog.text
        time.sleep(0.02)
    assert user.emit("join", "r2", callback=True) == "r2"
    assert user.is_connected()
    sid = _sid(socketio, "/")
    assert socketio.server.rooms(sid, "/") == [sid, "r2"]


def _sid(socketio: SocketIO, namespace: str) -> str:
    (sid,) = [s for s, _ in socketio.server.manager.get_participants(namespace, None)]
    return sid


def test_actions_reach_the_clients() -> None:
    app, socketio = make(False)
    ui = admin(app, socketio, None)
    received(ui, "config")
    user = socketio.test_client(app)
    sid = _sid(socketio, "/")
    ui.emit("emit", "/", sid, "notice", "from the admin", 2, namespace="/admin")
    ui.emit("join", "/", "r1", sid, namespace="/admin")
    ui.emit("leave", "/", sid, sid, namespace="/admin")  # its own room: as Node, it may leave it
    deadline = time.monotonic() + 3
    while socketio.server.rooms(sid, "/") != ["r1"]:
        assert time.monotonic() < deadline, socketio.server.rooms(sid, "/")
        time.sleep(0.02)
    assert user.get_received() == [{"name": "notice", "args": ["from the admin", 2], "namespace": "/"}]
    ui.emit("_disconnect", "/", False, "r1", namespace="/admin")
    deadline = time.monotonic() + 3
    while user.is_connected():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_production_mode_sends_the_stats_only() -> None:
    app, socketio = make(False, mode="production")
    ui = admin(app, socketio, None)
    assert "ALL_EVENTS" not in received(ui, "config")[0]["supportedFeatures"]
    user = socketio.test_client(app)
    assert user.emit("join", "r1", callback=True) == "r1"
    stats = received(ui, "server_stats")[0]
    assert {"name": "/", "socketsCount": 1} in stats["namespaces"]
    names = {e["name"] for e in ui.__dict__["seen"] + ui.get_received("/admin")}
    assert not names & {"all_sockets", "socket_connected", "room_joined", "event_received", "event_sent"}


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({}, "needs auth"),
        ({"auth": {"username": "admin", "password": "$2b$04$short"}}, "bcrypt hash"),
        ({"auth": []}, "a dict of credentials"),
        ({"auth": "secret"}, "a dict of credentials"),
        ({"auth": False, "mode": "debug"}, "'development' or 'production'"),
        ({"auth": False, "namespace": "admin"}, "starts with '/'"),
    ],
)
def test_bad_arguments_are_refused_at_once(options: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        SocketIO(Flask(__name__)).instrument(ui_path=None, **options)


def test_socketio_server_instrument_is_the_same_as_flask_socketio_apps_call_it() -> None:
    socketio = SocketIO(Flask(__name__))
    instrumented = socketio.server.instrument(auth=False, ui_path=None)
    assert socketio.registry.admin is instrumented
    with pytest.raises(RuntimeError, match="already"):
        socketio.instrument(auth=False)


def test_an_app_factory_serves_the_ui_once_init_app_binds_it() -> None:
    socketio = SocketIO()
    socketio.instrument(auth=False)
    app = Flask(__name__)
    socketio.init_app(app, metrics=True)
    socketio.init_app(app, metrics=True)  # again: the layers are not stacked twice
    web = app.test_client()
    page = web.get("/admin/")
    assert page.status_code == 200 and b"<title>Socket.IO Admin UI</title>" in page.data
    for path in ("/admin/_icons/css/materialdesignicons.min.css", "/metrics"):
        with web.get(path) as answer:
            assert answer.status_code == 200, path
    layers, inner = [], app.wsgi_app
    while (inner := getattr(inner, "inner_app", None) or getattr(inner, "app", None)) is not None:
        layers.append(type(inner).__name__)
    assert layers == ["AdminUIMiddleware", "MetricsMiddleware", "method"]  # then Flask's own wsgi_app


def test_without_the_npm_package_the_page_says_what_to_install(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    app = Flask(__name__, root_path=str(tmp_path))
    SocketIO(app).instrument(auth=False)
    assert "npm install @socket.io/admin-ui" in caplog.text  # said once, at instrument()
    answer = app.test_client().get("/admin/")
    assert answer.status_code == 404 and b"npm install @socket.io/admin-ui" in answer.data
    with pytest.raises(FileNotFoundError, match=r"no index\.html"):
        SocketIO(Flask(__name__)).instrument(auth=False, ui_files=tmp_path)


def test_wrong_credentials_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    app, socketio = make({"username": "admin", "password": "secret"})
    assert not admin(app, socketio, {"username": "admin", "password": "guess"}).is_connected("/admin")
    assert "Admin UI: refused a connection from" in caplog.text and "invalid credentials" in caplog.text
