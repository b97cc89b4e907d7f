"""The raw Engine.IO server with the official engine.io-client (6.x and 3.x) and python-engineio's client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import engineio
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import APPS, ServerProcess, run_peer


@pytest.fixture(scope="module")
def engine_server() -> Iterator[ServerProcess]:
    server = ServerProcess(APPS / "raw_engine_app.py")
    yield server
    server.stop()


def run_engine_client(url: str, version: int, transports: list[str] | None) -> dict[str, Any]:
    return run_peer("engine.js", {"url": url, "version": version, "transports": transports})


@pytest.mark.parametrize("transports", [None, ["websocket"], ["polling"]], ids=["upgrade", "websocket", "polling"])
@pytest.mark.parametrize("version", [6, 3])
def test_official_engine_io_client_echoes(
    engine_server: ServerProcess, version: int, transports: list[str] | None
) -> None:
    result = run_engine_client(engine_server.url, version, transports)
    received = result["received"]
    assert received[0].startswith("hello ")
    assert received[1:] == ["text", "ünïcode 😀", {"binary": [1, 2, 3, 255]}]
    assert result["transport"] == (transports or ["websocket"])[-1]


def test_python_engineio_client(engine_server: ServerProcess) -> None:
    client = engineio.Client()
    got: list[Any] = []
    done = threading.Event()

    @client.on("message")
    def message(data: Any) -> None:
        got.append(data)
        if len(got) == 3:
            done.set()

    client.connect(engine_server.url, engineio_path="engine.io", transports=["websocket"])
    client.send("ping")
    client.send(b"\x00\x01")
    assert done.wait(5)
    client.disconnect()
    assert got[0].startswith("hello ") and got[1:] == ["ping", b"\x00\x01"]


def test_connect_handler_can_refuse(engine_server: ServerProcess) -> None:
    url = f"ws://127.0.0.1:{engine_server.port}/engine.io/?EIO=4&transport=websocket&refuse=1"
    with connect(url, open_timeout=5) as ws:
        assert ws.recv(timeout=5).startswith("0{")  # the handshake, then the refusal closes it
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
