"""The Admin UI's protocol against Node's: one session of the UI's socket against the official
@socket.io/admin-ui instrumenting Node's socket.io, and against Surge's instrument().

tests/peers/admin.js plays the UI (socket.io-client 4.x, as the UI's page uses it): a sign-in
with a wrong password, then the right one (its bcrypt hash is what both servers hold); a
client of the app connects, joins a room, has the server emit to it; the admin emits to the
room, puts the client in a room, takes it out of another, disconnects it; then the UI comes
back with its session id.  Compared: every notification the admin socket got (ids by order
of appearance, dates and per-connection values by type), the last server_stats, which kinds of
traffic the stats reported, and what the app's client saw.

A difference, on purpose: disconnect reasons are python-socketio's, the words Surge's
disconnect handlers get (Flask-SocketIO's), so "server namespace disconnect" reads
"server disconnect"; and the traffic's rawDisconnection reasons are compared by kind only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import APPS, ServerProcess, run_peer
from tests.differential.node import NodeServer

PASSWORD = "secret"
HASH = "$2b$04$gdV8a13idsiSyS.Us8FEQujKyJ75Gf1iAhmK5ecV0/Mi4zG5a3HCy"  # bcrypt of PASSWORD, cost 4
NODE_REASONS = {"server disconnect": "server namespace disconnect"}


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    node = NodeServer("node_admin_server.js", {"username": "admin", "hash": HASH})
    surge = ServerProcess(APPS / "admin_app.py", {"ADMIN_PASSWORD": HASH, "SERVER_ID": "the-server"})
    yield {"node": node.url, "surge": surge.url}
    node.stop()
    surge.stop()


def session(url: str) -> dict[str, Any]:
    result = run_peer("admin.js", {"url": url, "username": "admin", "password": PASSWORD})
    assert "error" not in result, result
    for args in result["got"]:
        if args[0] == "socket_disconnected":
            args[3] = NODE_REASONS.get(args[3], args[3])
    return result


def test_an_admin_ui_session_is_the_same_as_on_node(urls: dict[str, str]) -> None:
    node = session(urls["node"])
    assert session(urls["surge"]) == node
    events = [args[0] for args in node["got"]]
    assert events == [
        *("room_joined", "socket_connected", "config", "all_sockets"),  # the admin itself
        *("room_joined", "socket_connected"),  # the app's client
        *("event_received", "room_joined", "event_received", "event_sent"),  # join r1, to_room r1
        *("event_sent", "room_joined", "room_left"),  # the admin's emit, join r2, leave r1
        *("socket_disconnected", "room_left", "room_left"),  # the admin's disconnect
    ]
    assert node["refused"] == "invalid credentials"
    assert node["resumed"] is None  # the session id signs the UI in again
    assert node["clientSaw"] == [
        ["room_message", "hi"],
        ["room_message", "from the admin"],
        ["disconnect", "io server disconnect"],
    ]
    assert node["traffic"] == ["bytesIn", "bytesOut", "packetsIn", "packetsOut", "rawConnection", "rawDisconnection"]
