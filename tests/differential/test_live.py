"""The same client sessions over the network against Flask-SocketIO and Surge: what clients see must be equal.

Both servers run the app of ``tests/differential/app.py`` in a process of their
own (Flask-SocketIO in threading mode, as its docs run it); the official
socket.io-client (4.x, 2.x, 1.x under Node) and python-socketio's client play
scripted sessions against each and record every event, ack, connect error and
disconnect.  The recordings are compared whole.

Flask-SocketIO 5 speaks only Engine.IO v4, so it refuses the 1.x/2.x clients
that old tutorial pages load; Surge serves them, and what they see on Surge
must equal what a 4.x client sees on Flask-SocketIO.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ServerProcess, run_peer
from tests.differential import scripts

SERVE = ServerProcess.__init__.__globals__["TESTS"] / "differential" / "serve.py"


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerProcess]]:
    started = {lib: ServerProcess(SERVE, {"DIFF_LIB": lib}) for lib in ("flask_socketio", "surge")}
    yield started
    for server in started.values():
        server.stop()


def record(server: ServerProcess, script: dict[str, Any], version: int, transports: list[str] | None) -> Any:
    result = run_peer("record.js", {"url": server.url, "version": version, "transports": transports, **script})
    return result["seen"]


CLIENTS = {"v4-upgrade": (4, None), "v4-polling": (4, ["polling"]), "v2-websocket": (2, ["websocket"]), "v1": (1, None)}
CASES = [
    (name, client)
    for name, (versions, _) in sorted(scripts.SCRIPTS.items())
    for client, (version, _) in CLIENTS.items()
    if version in versions
]


@pytest.mark.parametrize(("name", "client"), CASES, ids=[f"{name}-{client}" for name, client in CASES])
def test_official_clients_see_the_same(servers: dict[str, ServerProcess], name: str, client: str) -> None:
    version, transports = CLIENTS[client]
    script = scripts.SCRIPTS[name][1](f"-{name}-{client}")
    expected = record(servers["flask_socketio"], script, 4, transports if version == 4 else None)
    assert record(servers["surge"], script, version, transports) == connect_first(expected)


def connect_first(recording: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Flask-SocketIO's recording with the documented difference applied: "connect" before what it emitted.

    python-socketio sends what a connect handler emits before the CONNECT reply, so
    the client reports those events before its ``connect``; Surge sends the reply
    first (as Node's socket.io does), so ``connect`` comes first (docs/compatibility.md).
    """
    fixed = {}
    for name, seen in recording.items():
        if ["connect"] in seen:
            at = seen.index(["connect"])
            seen = [["connect"], *seen[:at], *seen[at + 1 :]]
        fixed[name] = seen
    return fixed
