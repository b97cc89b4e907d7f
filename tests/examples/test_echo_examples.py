"""The echo examples, run unchanged and driven through the test client."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).parent.parent.parent / "examples"


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Flask finds the app's folder (templates) through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module", params=["app.py", "app_namespace.py"])
def example(request: pytest.FixtureRequest) -> ModuleType:
    module = load(EXAMPLES / "echo" / request.param)
    module.app.config["TESTING"] = True
    return module


def responses(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [m["args"][0]["data"] for m in client.get_received() if m["name"] == "my_response"]


def test_page_is_served(example: ModuleType) -> None:
    page = example.app.test_client().get("/")
    assert page.status_code == 200 and b'<script src="/socket.io/socket.io.js">' in page.data


def test_echo_with_ack_and_count(example: ModuleType) -> None:
    client = example.socketio.test_client(example.app)
    assert responses(client) == ["Connected"]
    assert client.emit("my_event", {"data": "hi"}, callback=True) == "received"
    client.emit("my_event", {"data": "again"})
    assert [m["args"][0] for m in client.get_received()] == [{"data": "hi", "count": 1}, {"data": "again", "count": 2}]
    assert client.emit("my_ping", callback=True) == "pong"


def test_rooms_and_broadcast(example: ModuleType) -> None:
    a, b = example.socketio.test_client(example.app), example.socketio.test_client(example.app)
    a.get_received()
    b.get_received()
    a.emit("join", {"room": "lobby"})
    assert responses(a)[0].startswith("In rooms: ")
    b.emit("my_room_event", {"room": "lobby", "data": "to the lobby"})
    assert responses(a) == ["to the lobby"] and responses(b) == []
    b.emit("my_broadcast_event", {"data": "everyone"})
    assert responses(a) == ["everyone"] and responses(b) == ["everyone"]
    b.emit("close_room", {"room": "lobby"})
    assert responses(a) == ["Room lobby is closing."]
    b.emit("my_room_event", {"room": "lobby", "data": "nobody"})
    assert responses(a) == []


def test_disconnect_request(example: ModuleType) -> None:
    client = example.socketio.test_client(example.app)
    client.get_received()
    client.emit("disconnect_request")
    assert not client.is_connected()


def test_error_handler_of_the_namespace_example() -> None:
    module = load(EXAMPLES / "echo" / "app_namespace.py")
    client = module.socketio.test_client(module.app)
    client.get_received()
    client.emit("my_event", {"no data": 1})  # message["data"] raises KeyError
    assert responses(client) == ["Error in my_event: 'data'"]
