"""The Admin UI with real processes: its files, a polling client's upgrade, a cluster through Redis.

The UI's socket is python-socketio's client here (the official UI page itself is driven by
Chromium in tests/browser/test_admin_ui.py, and its protocol compared with Node's in
tests/differential/test_admin_node.py).
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio
import websockets.sync.client

from tests.conftest import APPS, ServerProcess

CREDENTIALS = {"username": "admin", "password": "secret"}


class AdminUI:
    """python-socketio's client on the admin namespace, keeping what it was told."""

    def __init__(self, url: str, auth: dict[str, str] | None = CREDENTIALS) -> None:
        self.got: list[tuple[str, tuple[Any, ...]]] = []
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._on, namespace="/admin")
        self.client.connect(url, namespaces=["/admin"], auth=auth, transports=["websocket"], wait_timeout=5)

    def _on(self, event: str, *args: Any) -> None:
        with self.changed:
            self.got.append((event, args))
            self.changed.notify_all()

    def wait(self, found: Callable[[list[tuple[str, tuple[Any, ...]]]], Any], timeout: float = 5) -> Any:
        """The first truthy ``found(got)``, waiting for more events until ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (result := found(self.got)):
                left = deadline - time.monotonic()
                assert left > 0, [event for event, _ in self.got]
                self.changed.wait(left)
        return result

    def first(self, name: str, where: Callable[..., bool] = lambda *args: True) -> tuple[Any, ...]:
        return self.wait(lambda got: next((args for e, args in got if e == name and where(*args)), None))

    def emit(self, event: str, *args: Any) -> None:
        self.client.emit(event, args, namespace="/admin")

    def close(self) -> None:
        self.client.disconnect()


def user(url: str, transports: list[str] | None = None) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(url, transports=transports or ["websocket"], wait_timeout=5)
    return client


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    process = ServerProcess(APPS / "admin_app.py", {"ADMIN_PASSWORD": "secret"})
    yield process
    process.stop()


def get(server: ServerProcess, path: str) -> tuple[int, dict[str, str], bytes]:
    """A request with ``path`` sent as it is (no client-side clean-up of ``..``)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    answer = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    connection.close()
    return answer


def test_the_ui_files_are_served_from_the_npm_package(server: ServerProcess) -> None:
    status, headers, _ = get(server, "/admin")
    assert (status, headers["location"]) == (301, "/admin/")
    status, headers, page = get(server, "/admin/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"<title>Socket.IO Admin UI</title>" in page
    assert b'{"path": "/socket.io", "namespace": "/admin"}' in page  # a first visit's defaults
    script = re.search(rb'src="(js/app\.[0-9a-f]+\.js)"', page)
    assert script is not None
    status, headers, body = get(server, "/admin/" + script.group(1).decode())
    assert status == 200 and "javascript" in headers["content-type"] and len(body) > 10_000
    for path in ("/admin/../../pyproject.toml", "/admin/%2e%2e/%2e%2e/pyproject.toml", "/admin/none.js"):
        assert get(server, path)[0] == 404, path
    with urllib.request.urlopen(server.url + "/", timeout=5) as response:  # the app's own routes carry on
        assert response.read() == b"the app's own page"


def test_a_polling_client_is_reported_and_so_is_its_upgrade(server: ServerProcess) -> None:
    """By hand, so the socket surely connects over polling before it upgrades (clients race the two)."""
    ui = AdminUI(server.url)
    base = server.url + "/socket.io/?EIO=4&transport=polling"
    try:
        with urllib.request.urlopen(base, timeout=5) as response:
            eio_sid = json.loads(response.read()[1:])["sid"]
        urllib.request.urlopen(urllib.request.Request(f"{base}&sid={eio_sid}", data=b"40"), timeout=5).close()
        with urllib.request.urlopen(f"{base}&sid={eio_sid}", timeout=5) as response:
            sid = json.loads(response.read()[2:])["sid"]
        (connected, _) = ui.first("socket_connected", lambda socket, _: socket["id"] == sid)
        assert connected["transport"] == "polling" and connected["nsp"] == "/" and connected["rooms"] == [sid]
        assert connected["handshake"]["query"]["transport"] == "polling"
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket&sid={eio_sid}"
        with websockets.sync.client.connect(url, open_timeout=5) as ws:
            ws.send("2probe")
            assert ws.recv(timeout=5) == "3probe"
            ws.send("5")
            assert ui.first("socket_updated", lambda update: update["id"] == sid) == (
                {"id": sid, "nsp": "/", "transport": "websocket"},
            )
    finally:
        ui.close()


def test_a_cluster_reports_every_process_to_the_ui(redis_url: str) -> None:
    env = {"ADMIN_PASSWORD": "secret", "MESSAGE_QUEUE": redis_url, "CHANNEL": "surge-admin-" + secrets.token_hex(4)}
    a = ServerProcess(APPS / "admin_app.py", {**env, "SERVER_ID": "a"})
    b = ServerProcess(APPS / "admin_app.py", {**env, "SERVER_ID": "b"})
    clients: list[socketio.Client] = []
    try:
        time.sleep(0.5)  # both subscribed
        on_a, on_b = user(a.url), user(b.url)
        clients += [on_a, on_b]
        notices: list[tuple[str, Any]] = []
        for name, client in (("a", on_a), ("b", on_b)):
            client.on("notice", lambda text, name=name: notices.append((name, text)))
        ui = AdminUI(a.url)
        (listed,) = ui.first("all_sockets")
        assert {on_a.get_sid(), on_b.get_sid()} <= {socket["id"] for socket in listed}
        b_listed = next(socket for socket in listed if socket["id"] == on_b.get_sid())
        assert b_listed["handshake"]["url"].startswith("/socket.io/") and b_listed["transport"] == "websocket"
        servers = ui.wait(lambda got: {args[0]["serverId"] for e, args in got if e == "server_stats"} >= {"a", "b"})
        assert servers
        assert on_b.call("join", "r1", timeout=5) == "r1"
        ui.first("event_received", lambda ns, sid, data, _: sid == on_b.get_sid() and data == ["join", "r1"])
        ui.first("room_joined", lambda ns, room, sid, _: (room, sid) == ("r1", on_b.get_sid()))
        ui.emit("emit", "/", None, "notice", "to everyone")
        deadline = time.monotonic() + 5
        while sorted(notices) != [("a", "to everyone"), ("b", "to everyone")]:
            assert time.monotonic() < deadline, notices
            time.sleep(0.02)
        b_sid = on_b.get_sid()
        ui.emit("_disconnect", "/", False, b_sid)  # a socket of the other process
        ui.first("socket_disconnected", lambda ns, sid, reason, _: sid == b_sid)
        deadline = time.monotonic() + 5
        while on_b.connected:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert on_a.connected
        ui.close()
    finally:
        for client in clients:
            client.disconnect()
        a.stop()
        b.stop()
