"""The Flask-SocketIO API on a real Surge server, driven by python-socketio's client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio

from tests.conftest import APPS, ServerProcess


@pytest.fixture(scope="module")
def api_server() -> Iterator[ServerProcess]:
    server = ServerProcess(APPS / "api_app.py")
    yield server
    server.stop()


class Recorder:
    """Collects the events one client receives."""

    def __init__(self, client: socketio.Client, *events: str, namespace: str = "/") -> None:
        self.got: dict[str, list[Any]] = {e: [] for e in events}
        self.cond = threading.Condition()
        for event in events:
            client.on(event, self._handler(event), namespace=namespace)

    def _handler(self, event: str) -> Callable[..., None]:
        def handler(*args: Any) -> None:
            with self.cond:
                self.got[event].append(args[0] if len(args) == 1 else list(args))
                self.cond.notify_all()

        return handler

    def wait(self, event: str, count: int = 1, timeout: float = 5) -> list[Any]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.got[event]) >= count, timeout), (event, self.got)
            return list(self.got[event])


def connect(
    server: ServerProcess, auth: Any = None, namespaces: list[str] | None = None, transport: str = "websocket"
) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.connect(server.url, transports=[transport], auth=auth, namespaces=namespaces or ["/"], wait_timeout=5)
    return client


@pytest.fixture
def clients(api_server: ServerProcess) -> Iterator[Callable[..., socketio.Client]]:
    made: list[socketio.Client] = []

    def make(**kwargs: Any) -> socketio.Client:
        client = connect(api_server, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.disconnect()


def wait_log(
    server: ServerProcess, match: Callable[[dict[str, Any]], bool], timeout: float = 5
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in server.get_json("/_log") if match(e)]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("no matching log entry")


def test_request_sid_namespace_event_and_session_from_connect(clients: Callable[..., socketio.Client]) -> None:
    client = clients(auth={"user": "ada"})
    info = client.call("whoami", timeout=5)
    assert info["sid"] == client.get_sid("/")
    assert info["namespace"] == "/" and info["event"] == "whoami" and info["user"] == "ada"
    assert info["rooms"] == [info["sid"]]  # every client is in its personal room


def test_session_persists_across_events(clients: Callable[..., socketio.Client]) -> None:
    client = clients()
    client.call("set_session", 123, timeout=5)
    assert client.call("get_session", timeout=5) == 123
    assert clients().call("get_session", timeout=5) is None


@pytest.mark.parametrize(
    ("auth", "error"),
    [
        ({"refuse": "false"}, {"message": "Connection rejected by server"}),
        ({"refuse": "raise"}, {"message": "go away", "data": {"code": 42}}),
    ],
)
def test_refusing_a_connection(api_server: ServerProcess, auth: dict[str, str], error: dict[str, Any]) -> None:
    client = socketio.Client(reconnection=False)
    got: list[Any] = []
    client.on("connect_error", got.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(api_server.url, transports=["websocket"], auth=auth, wait_timeout=5)
    assert got == [error]


def test_send_message_and_json(clients: Callable[..., socketio.Client]) -> None:
    client = clients()
    rec = Recorder(client, "message", "json")
    client.send("hi")
    client.emit("json", {"a": 1})
    assert rec.wait("message") == [{"echo": "hi"}]
    assert rec.wait("json") == [{"echo": {"a": 1}}]


def test_module_emit_replies_to_sender_and_broadcast_options(clients: Callable[..., socketio.Client]) -> None:
    a, b, c = clients(), clients(), clients()
    recs = {name: Recorder(cl, "heard") for name, cl in (("a", a), ("b", b), ("c", c))}
    a.call("shout", ("to sender", {}), timeout=5)
    assert recs["a"].wait("heard") == ["to sender"]
    a.call("shout", ("everyone", {"broadcast": True}), timeout=5)
    for rec in recs.values():
        assert "everyone" in rec.wait("heard", 1 if rec is not recs["a"] else 2)
    a.call("shout", ("not me", {"broadcast": True, "include_self": False}), timeout=5)
    recs["b"].wait("heard", 2)
    recs["c"].wait("heard", 2)
    a.call("shout", ("skip b", {"broadcast": True, "skip_sid": b.get_sid("/")}), timeout=5)
    recs["c"].wait("heard", 3)
    time.sleep(0.2)
    assert recs["a"].got["heard"] == ["to sender", "everyone", "skip b"]
    assert recs["b"].got["heard"] == ["everyone", "not me"]
    assert recs["c"].got["heard"] == ["everyone", "not me", "skip b"]


def test_rooms_join_leave_list_and_close(clients: Callable[..., socketio.Client]) -> None:
    a, b = clients(), clients()
    rec_a, rec_b = Recorder(a, "heard"), Recorder(b, "heard")
    assert a.call("join", "red", timeout=5) == sorted([a.get_sid("/"), "red"])
    a.call("join", "blue", timeout=5)
    b.call("join", "blue", timeout=5)
    # A list of rooms reaches each member once, even one in several of them.
    b.call("server_shout", ("to rooms", {"to": ["red", "blue"]}), timeout=5)
    assert rec_a.wait("heard") == ["to rooms"] and rec_b.wait("heard") == ["to rooms"]
    assert a.call("leave", "red", timeout=5) == sorted([a.get_sid("/"), "blue"])
    b.call("close", "blue", timeout=5)
    b.call("server_shout", ("after close", {"to": "blue"}), timeout=5)
    b.call("server_shout", ("to a by sid", {"to": a.get_sid("/")}), timeout=5)
    assert rec_a.wait("heard", 2) == ["to rooms", "to a by sid"]
    assert rec_b.got["heard"] == ["to rooms"]


def test_server_to_client_callback_runs_in_the_request_context(
    api_server: ServerProcess, clients: Callable[..., socketio.Client]
) -> None:
    client = clients()
    client.on("question", lambda q: ("yes", q))
    client.emit("ask", "sure?")
    sid = client.get_sid("/")
    assert wait_log(api_server, lambda e: e.get("event") == "answered" and e["sid"] == sid)[0]["answer"] == [
        "yes",
        "sure?",
    ]


def test_call_returns_the_answer(clients: Callable[..., socketio.Client]) -> None:
    client = clients()
    client.on("question", lambda q: q * 2)
    assert client.call("call_me", ("ab", 5), timeout=10) == {"answer": "abab"}


def test_call_times_out(clients: Callable[..., socketio.Client]) -> None:
    client = clients()
    client.on("question", lambda q: time.sleep(2))  # answers too late
    assert client.call("call_me", ("slow", 0.3), timeout=10) == {"error": "timeout"}


def test_call_fails_at_once_when_the_client_disconnects(api_server: ServerProcess) -> None:
    client = connect(api_server)

    def leave(question: str) -> None:
        threading.Thread(target=client.disconnect).start()
        time.sleep(5)

    client.on("question", leave)
    started = time.monotonic()
    client.emit("call_me", ("bye", 30))
    entry = wait_log(api_server, lambda e: e.get("event") == "call_failed", timeout=10)
    assert entry[0]["error"] == "DisconnectedError"
    assert time.monotonic() - started < 5  # long before the 30 s timeout


def test_errors_go_to_on_error_with_request_event(
    api_server: ServerProcess, clients: Callable[..., socketio.Client]
) -> None:
    client = clients()
    assert client.call("fail", "boom", timeout=5) == {"error": "boom"}
    entry = wait_log(api_server, lambda e: e.get("event") == "error")
    assert entry[0]["handler_event"] == "fail" and entry[0]["sid"] == client.get_sid("/")
    assert client.call("get_session", timeout=5) is None  # the connection stays up


def test_server_disconnect_calls_the_disconnect_handler_with_reason(api_server: ServerProcess) -> None:
    client = connect(api_server)
    sid = client.get_sid("/")
    client.emit("kick")
    entry = wait_log(api_server, lambda e: e.get("event") == "disconnect" and e["sid"] == sid)
    assert entry[0]["reason"] == "server disconnect"


def test_class_based_namespace(clients: Callable[..., socketio.Client]) -> None:
    a = clients(namespaces=["/chat"])
    b = clients(namespaces=["/chat"])
    rec_a, rec_b = Recorder(a, "said", namespace="/chat"), Recorder(b, "said", namespace="/chat")
    assert a.call("enter", namespace="/chat", timeout=5) == sorted([a.get_sid("/chat"), "lobby"])
    assert b.call("enter", namespace="/chat", timeout=5) == sorted([b.get_sid("/chat"), "lobby"])
    assert a.call("say", "hello", namespace="/chat", timeout=5) == "ok"
    assert rec_a.wait("said") == [{"text": "hello"}] and rec_b.wait("said") == [{"text": "hello"}]
    assert a.call("async_echo", 7, namespace="/chat", timeout=5) == {"async": 7}


def test_catch_all_event_and_namespace(clients: Callable[..., socketio.Client]) -> None:
    client = clients(namespaces=["/", "/anything"])
    assert client.call("no_such_event", (1, 2), timeout=5) == {"caught": "no_such_event", "args": [1, 2]}
    assert client.call("whatever", namespace="/anything", timeout=5) == {"namespace": "/anything", "event": "whatever"}


def test_a_handler_that_never_returns_blocks_nobody(clients: Callable[..., socketio.Client]) -> None:
    looping, other = clients(), clients()
    ticks = Recorder(looping, "tick")
    looping.emit("forever")
    ticks.wait("tick", 3)
    started = time.monotonic()
    for _ in range(20):
        assert other.call("get_session", timeout=5) is None
    assert time.monotonic() - started < 5
    assert len(ticks.wait("tick", 5)) >= 5  # and it keeps delivering


def test_background_task_pushes_to_every_client(clients: Callable[..., socketio.Client]) -> None:
    a, b = clients(namespaces=["/test_conn"]), clients(namespaces=["/test_conn"])
    rec_a, rec_b = Recorder(a, "number", namespace="/test_conn"), Recorder(b, "number", namespace="/test_conn")
    got_a, got_b = rec_a.wait("number", 3), rec_b.wait("number", 3)
    assert [m["n"] for m in got_a] == sorted(m["n"] for m in got_a)
    assert {m["n"] for m in got_a[-2:]} & {m["n"] for m in got_b}  # the same ticks reach both


def test_emit_from_many_threads_is_safe(clients: Callable[..., socketio.Client]) -> None:
    client = clients()
    replies: list[Any] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        answer = client.call("no_such_event", i, timeout=10)
        with lock:
            replies.append(answer["args"][0])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(replies) == list(range(20))


@pytest.fixture(scope="module")
def serial_server() -> Iterator[ServerProcess]:
    server = ServerProcess(APPS / "api_app.py", {"ASYNC_HANDLERS": "0"})
    yield server
    server.stop()


def test_async_handlers_false_runs_one_event_at_a_time_in_order(serial_server: ServerProcess) -> None:
    client = connect(serial_server)
    try:
        done = threading.Event()
        results: list[Any] = []
        for n, delay in enumerate([0.3, 0.0, 0.2, 0.0]):
            client.emit("ordered", (n, delay), callback=lambda r: (results.append(r), len(results) == 4 and done.set()))
        assert done.wait(5)
        assert results == [0, 1, 2, 3]
    finally:
        client.disconnect()
    assert [e["n"] for e in serial_server.get_json("/_log") if e.get("event") == "ordered"] == [0, 1, 2, 3]


def test_async_handlers_true_lets_a_fast_event_overtake_a_slow_one(clients: Callable[..., socketio.Client]) -> None:
    client = clients()
    results: list[Any] = []
    done = threading.Event()
    client.emit("ordered", (0, 0.5), callback=lambda r: (results.append(r), len(results) == 2 and done.set()))
    client.emit("ordered", (1, 0.0), callback=lambda r: (results.append(r), len(results) == 2 and done.set()))
    assert done.wait(5)
    assert results == [1, 0]
