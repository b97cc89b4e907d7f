"""python-socketio's Client as a second, independent peer against a real Surge server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio

from tests.conftest import ServerProcess

VALUES: list[Any] = [
    "text",
    42,
    -3.25,
    True,
    None,
    {"nested": {"list": [1, {"deep": "yes"}]}},
    "中文",
    "emoji 😀🎉",
    b"\x00\x01\xfe\xff",
    {"bin": b"xyz", "list": [b"\x09", "t"]},
]


@pytest.fixture(params=[["websocket"], ["polling"], ["polling", "websocket"]], ids=["websocket", "polling", "upgrade"])
def client(request: pytest.FixtureRequest, echo_server: ServerProcess) -> Iterator[socketio.Client]:
    sio = socketio.Client(reconnection=False)
    sio.connect(echo_server.url, transports=request.param, namespaces=["/", "/chat"], wait_timeout=5)
    yield sio
    sio.disconnect()


def test_echo_with_ack(client: socketio.Client) -> None:
    for value in VALUES:
        assert client.call("echo", value, timeout=5) == value
    assert client.call("echo", ("a", 1, b"\x02"), timeout=5) == ("a", 1, b"\x02")  # several ack arguments


def test_second_namespace(client: socketio.Client) -> None:
    assert client.call("echo", "x", namespace="/chat", timeout=5) == ["chat", "x"]


def test_server_to_client_ack(client: socketio.Client) -> None:
    got: list[Any] = []
    done = threading.Event()
    client.on("question", lambda q: ("answer to " + q, 42))

    @client.on("answer_received")
    def answer(data: Any) -> None:
        got.append(data)
        done.set()

    client.emit("ask_client", "life")
    assert done.wait(5)
    assert got == [["answer to life", 42]]


def test_server_side_disconnect(echo_server: ServerProcess) -> None:
    sio = socketio.Client(reconnection=False)
    gone = threading.Event()
    sio.on("disconnect", lambda *reason: gone.set())
    sio.connect(echo_server.url, transports=["websocket"], wait_timeout=5)
    sio.emit("kick_me")
    assert gone.wait(5)
    deadline = time.monotonic() + 5
    while sio.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sio.connected
