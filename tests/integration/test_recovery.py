"""Connection state recovery with the official clients: every way of starting the app, the window,
the connect handler, old clients.

The session itself is compared with Node's in tests/differential/test_recovery_node.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import APPS, ServerProcess, run_node, run_steered
from tests.integration.test_start_ways import FLASK, GUNICORN, PYTHON_RUN
from tests.proxy import TcpProxy

# What the recovery scenario's client gets, in order: before the drop, what it missed, after.
RECOVERED = [
    ["before", "the drop"],
    ["missed", "to sid"],
    ["missed", "to room"],
    ["missed", "to all"],
    ["now", "after the reconnect"],
]
WAYS = {
    "flask run": (FLASK.format(app="recovery_app:app"), {}),
    "gunicorn --threads 50": (GUNICORN.format(args=["--threads", "50"], folder=str(APPS), app="recovery_app:app"), {}),
    "gunicorn -k SurgeWorker": (
        GUNICORN.format(args=["-k", "surge.workers.SurgeWorker"], folder=str(APPS), app="recovery_app:app"),
        {},
    ),
    "uvicorn asgi_app()": (
        PYTHON_RUN.format(argv=["recovery_app.py"], script=str(APPS / "recovery_app.py")),
        {"ASGI_SERVER": "uvicorn"},
    ),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_recovery_however_the_app_is_started(tmp_path: Path, way: str) -> None:
    code, env = WAYS[way]
    (tmp_path / "serve.py").write_text(code)
    server = ServerProcess(tmp_path / "serve.py", env, cwd=APPS)
    try:
        for transports in (["websocket"], ["polling"]):
            result = run_node("recovery", server.url, 4, transports, before=True)
            assert result["recovered"] is True, (transports, result)
            assert result["id"] == result["firstId"]
            assert [args[:2] for args in result["got"]] == RECOVERED, transports
    finally:
        server.stop()


def test_a_client_away_longer_than_the_window_gets_a_fresh_session() -> None:
    server = ServerProcess(APPS / "recovery_app.py", {"RECOVERY_WINDOW": "0.5"})
    try:
        result = run_node("recovery", server.url, 4, ["websocket"], before=True, away=1500)
        assert result["recovered"] is False
        assert result["id"] != result["firstId"]
        # Its rooms went with its session: nothing of the gap, nor of room r1 after it.
        assert [args[0] for args in result["got"]] == ["before"]
    finally:
        server.stop()


def test_the_connect_handler_sees_recovered_clients_when_asked_to() -> None:
    server = ServerProcess(APPS / "recovery_app.py", {"SKIP_CONNECT": "0"})
    try:
        result = run_node("recovery", server.url, 4, ["polling"], before=True)
        assert result["recovered"] is True
        assert server.get_json("/_connects") == [
            {"sid": result["firstId"], "recovered": False},
            {"sid": result["firstId"], "recovered": True},
        ]
    finally:
        server.stop()


def test_skipped_by_default() -> None:
    server = ServerProcess(APPS / "recovery_app.py")
    try:
        result = run_node("recovery", server.url, 4, ["websocket"], before=True)
        assert result["recovered"] is True
        assert server.get_json("/_connects") == [{"sid": result["firstId"], "recovered": False}]
    finally:
        server.stop()


def test_old_clients_get_no_offsets_and_work_as_before() -> None:
    server = ServerProcess(APPS / "recovery_app.py")
    try:
        for version in (2, 1):
            assert run_node("echo", server.url, version, ["websocket"])["results"] == [True] * 12
            result = run_node("listen", server.url, version, ["websocket"], event="ping_me", listen="before")
            assert result == {"ack": [True], "got": [["the drop"]]}  # protocol v4 clients cannot recover
        result = run_node("listen", server.url, 4, ["websocket"], event="ping_me", listen="before")
        assert result["got"][0][0] == "the drop" and isinstance(result["got"][0][1], str)  # v5: the offset
    finally:
        server.stop()


def test_a_client_back_before_the_server_knows_its_connection_died_takes_its_session_over() -> None:
    server = ServerProcess(APPS / "recovery_app.py")
    proxy = TcpProxy(server.port)
    opts = {"scenario": "recovery", "version": 4, "url": f"http://127.0.0.1:{proxy.port}", "transports": ["websocket"]}
    try:

        def cut(ready: dict[str, Any]) -> None:
            assert ready["ready"] is True
            proxy.drop(silent=True)

        result = run_steered({**opts, "before": True, "cutByTest": True}, cut, timeout=20)
        assert result["recovered"] is True, result
        assert result["id"] == result["firstId"]
        assert [args[:2] for args in result["got"]] == RECOVERED
    finally:
        proxy.close()
        server.stop()
