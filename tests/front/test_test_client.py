"""The Flask-SocketIO-compatible test client, driving the real server core in-process."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask, request, session

from surge import ConnectionRefusedError, Namespace, SocketIO, emit, join_room, leave_room, rooms, send

app = Flask(__name__)
app.config["SECRET_KEY"] = "test"
socketio = SocketIO(app)


@app.route("/login/<name>")
def login(name: str) -> str:
    session["user"] = name
    return "ok"


@socketio.on("connect")
def connect(auth: Any) -> None:
    if auth == {"refuse": True}:
        raise ConnectionRefusedError("no")
    emit("welcome", {"user": session.get("user"), "query": request.args.get("q")})


@socketio.on("echo")
def echo(*args: Any) -> Any:
    return args


@socketio.on("message")
def message(data: Any) -> None:
    send(data)


@socketio.on("json")
def json_message(data: Any) -> None:
    send(data, json=True)


@socketio.on("progress")
def progress(steps: int) -> str:
    for step in range(1, steps + 1):
        emit("step", step)
    return "done"


@socketio.on("join")
def join(room: str) -> None:
    join_room(room)


@socketio.on("to_room")
def to_room(room: str, data: Any) -> None:
    emit("room_message", data, to=room)


@socketio.on("async_echo")
async def async_echo(value: Any) -> Any:
    return {"async": value}


class Chat(Namespace):
    def on_say(self, text: str) -> None:
        self.emit("said", text)


socketio.on_namespace(Chat("/chat"))


def test_connect_and_what_the_connect_handler_emitted() -> None:
    client = socketio.test_client(app, query_string="q=1")
    assert client.is_connected()
    assert client.get_received() == [{"name": "welcome", "args": [{"user": None, "query": "1"}], "namespace": "/"}]
    assert client.get_received() == []
    client.disconnect()
    assert not client.is_connected()


def test_refused_connection() -> None:
    client = socketio.test_client(app, auth={"refuse": True})
    assert not client.is_connected()


def test_emit_with_callback_returns_the_ack() -> None:
    client = socketio.test_client(app)
    assert client.emit("echo", "a", callback=True) == "a"
    assert client.emit("echo", "a", 1, b"\x00", callback=True) == ["a", 1, b"\x00"]
    assert client.emit("async_echo", 5, callback=True) == {"async": 5}


def test_emits_made_by_a_handler_are_received_when_emit_returns() -> None:
    client = socketio.test_client(app)
    client.get_received()
    assert client.emit("progress", 3, callback=True) == "done"
    assert [m["args"] for m in client.get_received()] == [[1], [2], [3]]


def test_send_message_and_json() -> None:
    client = socketio.test_client(app)
    client.get_received()
    client.send("hello")
    client.send({"a": 1}, json=True)
    assert client.get_received() == [
        {"name": "message", "args": "hello", "namespace": "/"},
        {"name": "json", "args": {"a": 1}, "namespace": "/"},
    ]


def test_rooms_between_two_test_clients() -> None:
    a, b = socketio.test_client(app), socketio.test_client(app)
    a.get_received()
    b.get_received()
    a.emit("join", "red")
    b.emit("to_room", "red", {"x": 1})
    assert a.get_received() == [{"name": "room_message", "args": [{"x": 1}], "namespace": "/"}]
    assert b.get_received() == []


def test_class_based_namespace() -> None:
    client = socketio.test_client(app, namespace="/chat")
    assert client.is_connected("/chat")
    client.emit("say", "hi", namespace="/chat")
    assert client.get_received("/chat") == [{"name": "said", "args": ["hi"], "namespace": "/chat"}]


def test_flask_test_client_shares_the_session_cookie() -> None:
    flask_client = app.test_client()
    assert flask_client.get("/login/ada").data == b"ok"
    client = socketio.test_client(app, flask_test_client=flask_client)
    assert client.get_received()[0]["args"] == [{"user": "ada", "query": None}]


def test_get_received_needs_a_connection() -> None:
    client = socketio.test_client(app)
    client.disconnect()
    with pytest.raises(RuntimeError):
        client.get_received()


def test_test_client_with_a_message_queue_configured(redis_url: str) -> None:
    url = redis_url
    queued_app = Flask("queued")
    queued = SocketIO(queued_app, message_queue=url, channel="surge-test-client-queue")

    @queued.on("shout")
    def shout(data: Any) -> None:
        queued.emit("heard", data)

    client = queued.test_client(queued_app)
    client.emit("shout", "hi")
    assert client.get_received() == [{"name": "heard", "args": ["hi"], "namespace": "/"}]


@socketio.on("async_wait")
async def async_wait(delay: float) -> Any:
    import asyncio

    before = request.sid
    await asyncio.sleep(delay)
    emit("after_wait", {"same_sid": request.sid == before})
    await asyncio.sleep(0)
    return "waited"


@socketio.on("async_fail")
async def async_fail() -> None:
    import asyncio

    await asyncio.sleep(0.01)
    raise ValueError("after a wait")


def test_async_handlers_that_wait_keep_their_context() -> None:
    client = socketio.test_client(app)
    client.get_received()
    assert client.emit("async_wait", 0.05, callback=True) == "waited"
    assert client.get_received() == [{"name": "after_wait", "args": [{"same_sid": True}], "namespace": "/"}]


def test_async_handler_failing_after_a_wait_sends_no_ack_and_the_client_stays() -> None:
    client = socketio.test_client(app)
    with pytest.raises(ValueError, match="after a wait"):  # raised to the test, as Flask-SocketIO's client does
        client.emit("async_fail", callback=True)
    assert client.acks == {}
    assert client.emit("echo", "still here", callback=True) == "still here"


def rejoin(room: str) -> list[list[str]]:
    """A room joined again and again, left and joined again: the rooms seen after each step.

    A join of a room the socket is in is skipped (on the loop, and from a worker thread with no
    hand-over); right after a leave, which from a thread may not be made yet, it must not be.
    """
    join_room(room)
    join_room(room)
    seen = [rooms()]
    leave_room(room)
    join_room(room)
    seen.append(rooms())
    leave_room(room)
    seen.append(rooms())
    join_room(room)
    join_room(room)
    seen.append(rooms())
    return seen


@socketio.on("async_rejoin")
async def async_rejoin(room: str) -> Any:
    return rejoin(room)


@socketio.on("def_rejoin")
def def_rejoin(room: str) -> Any:
    return rejoin(room)


@pytest.mark.parametrize("event", ["async_rejoin", "def_rejoin"])
def test_a_handler_joining_a_room_it_is_in_changes_nothing_and_loses_no_change(event: str) -> None:
    a, b = socketio.test_client(app), socketio.test_client(app)
    a.get_received()
    b.get_received()
    for _ in range(20):  # a leave and a join one after another, each time while the leave may be on its way
        seen = a.emit(event, event, callback=True)  # the room: named after the event
        assert [rs.count(event) for rs in seen] == [1, 1, 0, 1]
        assert [len(rs) for rs in seen] == [2, 2, 1, 2]
    assert socketio.core._room_changes_queued == 0  # every change counted was made: the skip stays possible
    b.emit("to_room", event, {"x": 3})
    assert a.get_received() == [{"name": "room_message", "args": [{"x": 3}], "namespace": "/"}]


def test_a_socketio_made_without_an_app_is_bound_by_test_client() -> None:
    from flask import Flask

    from surge import SocketIO

    socketio = SocketIO()

    @socketio.on("echo")
    def echo(value: object) -> object:
        return value

    client = socketio.test_client(Flask(__name__))
    assert client.emit("echo", 5, callback=True) == 5


def test_emits_and_room_operations_before_the_server_runs_reach_nobody_and_say_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As in Flask-SocketIO, a background task started before socketio.run may emit: nobody is
    connected, nothing is raised, and a WARNING says so once."""
    socketio = SocketIO(Flask(__name__))
    with caplog.at_level("WARNING", logger="surge"):
        socketio.emit("tick", 1)
        socketio.emit("tick", 2, to="room")
        socketio.close_room("room")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["emit while the Socket.IO server is not running yet: no client is connected to get it"]
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        socketio.emit("tick", {"not": object()})  # what cannot be sent is refused all the same


def test_the_rooms_an_emit_goes_to_are_those_at_the_call() -> None:
    """A list of rooms given to an emit from a thread is read at the call, not when the loop sends."""
    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("join")
    def on_join(room: str) -> None:
        join_room(room)

    @socketio.on("go")
    def go() -> None:
        rooms_now = ["a"]

        def emit_then_change() -> None:
            socketio.emit("news", 1, to=rooms_now)
            rooms_now.append("b")

        thread = threading.Thread(target=emit_then_change)
        thread.start()
        thread.join()

    in_a, in_b = socketio.test_client(app), socketio.test_client(app)
    in_a.emit("join", "a")
    in_b.emit("join", "b")
    in_a.emit("go")
    assert [e["name"] for e in in_a.get_received()] == ["news"]
    assert in_b.get_received() == []
