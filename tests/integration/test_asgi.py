"""The ASGI adapter under uvicorn and hypercorn, with the official npm clients."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.conftest import APPS, ServerProcess, run_node

MODES = {"upgrade": (None, "websocket"), "websocket": (["websocket"], "websocket"), "polling": (["polling"], "polling")}


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def asgi_server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    server = ServerProcess(APPS / "asgi_echo.py", {"ASGI_SERVER": request.param})
    yield server
    server.stop()


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("version", [4, 2])
def test_echo_under_an_asgi_server(asgi_server: ServerProcess, version: int, mode: str) -> None:
    transports, final = MODES[mode]
    result = run_node("echo", asgi_server.url, version, transports)
    assert result["results"] == [True] * 12
    assert result["transport"] == final


@pytest.mark.parametrize("version", [4, 2])
def test_server_ack_and_rooms_under_an_asgi_server(asgi_server: ServerProcess, version: int) -> None:
    assert run_node("server_ack", asgi_server.url, version)["answer"] == ["answer to life", 42]
    assert run_node("rooms", asgi_server.url, version) == {"a": [{"hello": "blue"}], "b": [{"hello": "blue"}], "c": []}


def test_flask_routes_under_an_asgi_server(asgi_server: ServerProcess) -> None:
    with urllib.request.urlopen(asgi_server.url + "/", timeout=5) as response:
        assert response.read() == b"surge test app"


def test_client_disconnect_under_an_asgi_server(asgi_server: ServerProcess) -> None:
    sid = run_node("client_disconnect", asgi_server.url, 4)["sid"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(e.get("sid") == sid for e in asgi_server.get_json("/_log")):
            break
        time.sleep(0.05)
    assert [e["reason"] for e in asgi_server.get_json("/_log") if e.get("sid") == sid] == ["client disconnect"]
