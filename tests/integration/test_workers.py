"""socketio.run(app, workers=2), and gunicorn -k SurgeWorker -w 2: two processes serving one port
as one server, no sticky balancer.

Every HTTP request here opens a TCP connection of its own, so the kernel hands requests of
one session to both workers; each must reach the worker that owns the session.  Peers: raw
HTTP, python-socketio's client and the official socket.io-client 4.x, 2.x and 1.x.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import APPS, ServerProcess, run_node
from tests.integration.test_admin import AdminUI
from tests.integration.test_metrics import parse_metrics

GUNICORN = """
import os, sys
from gunicorn.app.wsgiapp import run
sys.argv = ["gunicorn", "-k", "surge.workers.SurgeWorker", "-w", "2", "--chdir", {folder!r},
            "-b", "127.0.0.1:" + os.environ["PORT"], "workers_app:app"]
run()
"""


HOW = ["run(workers=2)", "gunicorn -w 2"]


@pytest.fixture(scope="module", params=HOW)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = two_workers(request.param, tmp_path_factory.mktemp("workers"))
    yield process
    process.stop()


def two_workers(how: str, tmp: Path, env: dict[str, str] | None = None) -> ServerProcess:
    """Two workers, from socketio.run or from gunicorn's SurgeWorker (surge.peers)."""
    if how == "run(workers=2)":
        return start_workers(env or {})
    script = tmp / "serve.py"
    script.write_text(GUNICORN.format(folder=str(APPS)))
    process = ServerProcess(script, env)
    wait_for_both(process)
    return process


def start_workers(env: dict[str, str]) -> ServerProcess:
    """tests/apps/workers_app.py, once both its workers accept connections (not only forked)."""
    process = ServerProcess(APPS / "workers_app.py", {"WORKERS": "2", **env})
    wait_for_both(process)
    return process


def wait_for_both(process: ServerProcess) -> None:
    deadline = time.monotonic() + 10
    while len(worker_pids(process, 10)) < 2:
        assert time.monotonic() < deadline, process.output()


def fresh(server: ServerProcess, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    """One request on a TCP connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers={"Connection": "close"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def worker_pids(server: ServerProcess, tries: int = 40) -> set[str]:
    return {fresh(server, "GET", "/_pid")[1].decode() for _ in range(tries)}


def test_both_workers_take_connections(server: ServerProcess) -> None:
    assert len(worker_pids(server)) == 2


def test_every_request_of_a_session_reaches_its_worker(server: ServerProcess) -> None:
    base = "/socket.io/?EIO=4&transport=polling"
    status, body = fresh(server, "GET", base)
    assert status == 200
    sid = json.loads(body[1:])["sid"]
    assert fresh(server, "POST", f"{base}&sid={sid}", b"40")[0] == 200
    assert fresh(server, "GET", f"{base}&sid={sid}")[1].startswith(b"40{")
    for n in range(30):  # about half of these land on the other worker first
        assert fresh(server, "POST", f"{base}&sid={sid}", f'42{n}["echo",{n}]'.encode()) == (200, b"ok")
        assert fresh(server, "GET", f"{base}&sid={sid}") == (200, f"43{n}[{n}]".encode())


@pytest.mark.parametrize("sid", ["ZZbogus-session-id-000", "ABnot-a-live-session00", "x"])
def test_a_forged_or_unknown_sid_gets_the_engines_400(server: ServerProcess, sid: str) -> None:
    for _ in range(6):  # whichever worker gets it
        status, body = fresh(server, "GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
        assert (status, json.loads(body)) == (400, {"code": 1, "message": "Session ID unknown"})


@pytest.mark.parametrize(
    ("version", "transports"),
    [(4, ["polling"]), (4, ["polling", "websocket"]), (4, ["websocket"]), (2, None), (1, None)],
    ids=["4.x polling", "4.x upgrade", "4.x websocket", "2.x", "1.x"],
)
def test_the_official_clients_echo_with_acks(server: ServerProcess, version: int, transports: list[str] | None) -> None:
    result = run_node("echo", server.url, version, transports)
    assert result["results"] == [True] * 12


class Client:
    """python-socketio's client whose every polling request is a new TCP connection."""

    def __init__(self, server: ServerProcess, transports: list[str]) -> None:
        session = requests.Session()
        session.headers["Connection"] = "close"
        self.sio = socketio.Client(reconnection=False, http_session=session)
        self.got: list[tuple[str, Any]] = []
        self.sio.on("room_message", lambda data: self.got.append(("room_message", data)))
        self.sio.on("question", lambda text: "yes to " + text)
        self.sio.on("answered", lambda answer: self.got.append(("answered", answer)))
        self.sio.connect(server.url, transports=transports, wait_timeout=5)
        self.pid = self.sio.call("whoami", timeout=5)["pid"]
        self.sid = self.sio.get_sid()


def one_on_each_worker(server: ServerProcess, transports: list[str]) -> tuple[Client, Client, list[Client]]:
    made: list[Client] = []
    while len({c.pid for c in made}) < 2:
        if len(made) >= 40:
            for client in made:
                client.sio.disconnect()
            raise AssertionError("every client landed on one worker")
        made.append(Client(server, transports))
    first = made[0]
    second = next(c for c in made if c.pid != first.pid)
    return first, second, made


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]], ids=["polling", "websocket"])
def test_workers_act_as_one_server(server: ServerProcess, transports: list[str]) -> None:
    a, b, made = one_on_each_worker(server, transports)
    try:
        room = "r-" + transports[0]
        for client in (a, b):
            assert client.sio.call("join", room, timeout=5) == client.sid
        assert a.sio.call("list_room", room, timeout=5) == sorted([a.sid, b.sid])  # fetch_sockets, both workers
        a.sio.emit("to_room", (room, "hello both"))
        deadline = time.monotonic() + 5
        while not all(("room_message", "hello both") in c.got for c in (a, b)):
            assert time.monotonic() < deadline, (a.got, b.got)
            time.sleep(0.02)
        a.sio.emit("ask_other", b.sid)  # an emit with a callback to a client of the other worker
        deadline = time.monotonic() + 5
        while ("answered", ["yes to from " + a.sid]) not in a.got:
            assert time.monotonic() < deadline, a.got
            time.sleep(0.02)
        assert a.sio.call("call_other", b.sid, timeout=5) == "yes to called"  # call() across workers
        time.sleep(0.3)
        for client in (a, b):
            assert client.got.count(("room_message", "hello both")) == 1  # exactly once
    finally:
        for client in made:
            client.sio.disconnect()


@pytest.mark.parametrize("how", HOW)
def test_a_killed_worker_is_replaced_and_the_other_carries_on(tmp_path: Path, how: str) -> None:
    process = two_workers(how, tmp_path)
    made: list[Client] = []
    try:
        a, b, made = one_on_each_worker(process, ["websocket"])
        gone = threading.Event()
        b.sio.on("disconnect", lambda *reason: gone.set())
        os.kill(int(b.pid), signal.SIGKILL)
        assert gone.wait(10)
        if how == "run(workers=2)":
            process.wait_output("exited (killed by SIGKILL); starting another")
        assert a.sio.call("echo", "still here", timeout=5) == "still here"
        deadline = time.monotonic() + 10
        while len(pids := worker_pids(process, 20)) < 2 or str(b.pid) in pids:
            assert time.monotonic() < deadline, pids
        late, _, more = one_on_each_worker(process, ["polling"])
        made += more
        assert late.sio.call("echo", "new", timeout=5) == "new"
    finally:
        for client in made:
            if client.sio.connected:
                client.sio.disconnect()
        assert process.stop() == 0 or process.proc.returncode is not None


def test_sighup_restarts_the_workers_one_at_a_time_refusing_no_connection() -> None:
    process = start_workers({})
    try:
        before = worker_pids(process)
        failures: list[str] = []
        answered: list[str] = []
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                try:
                    status, body = fresh(process, "GET", "/_pid")
                    answered.append(body.decode()) if status == 200 else failures.append(str(status))
                except OSError as exc:
                    failures.append(repr(exc))

        threads = [threading.Thread(target=hammer) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        os.kill(process.proc.pid, signal.SIGHUP)
        process.wait_output(") restarted", count=2, timeout=20)
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        assert failures == []
        after = worker_pids(process)
        assert len(after) == 2 and not after & before  # both replaced
        assert set(answered) >= before | after  # and the port answered all along
    finally:
        process.stop()


def ws_on_each_worker(server: ServerProcess, stack: ExitStack) -> list[ClientConnection]:
    """Raw Socket.IO WebSockets until two are on different workers (``stack`` closes them)."""
    by_pid: dict[int, ClientConnection] = {}
    for _ in range(40):
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
        ws = stack.enter_context(connect(url, open_timeout=5))
        assert ws.recv(timeout=5).startswith("0{")
        ws.send("40")
        assert ws.recv(timeout=5).startswith("40{")
        ws.send('421["whoami"]')
        by_pid.setdefault(json.loads(str(ws.recv(timeout=5))[3:])[0]["pid"], ws)
        if len(by_pid) == 2:
            return list(by_pid.values())
    raise AssertionError("every client landed on one worker")


def test_sigterm_stops_every_worker_gracefully() -> None:
    process = start_workers({})
    try:
        with ExitStack() as stack:
            clients = ws_on_each_worker(process, stack)
            started = time.monotonic()
            os.kill(process.proc.pid, signal.SIGTERM)
            for ws in clients:
                with pytest.raises(ConnectionClosed) as closed:
                    while True:
                        ws.recv(timeout=5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000  # closed, not dropped
            assert process.proc.wait(10) == 0
            assert time.monotonic() - started < 5
    finally:
        process.stop()


def test_the_admin_ui_sees_every_worker() -> None:
    process = start_workers({"ADMIN": "1"})
    made: list[Client] = []
    try:
        a, b, made = one_on_each_worker(process, ["websocket"])
        ui = AdminUI(process.url, auth=None)
        (listed,) = ui.first("all_sockets")
        assert {a.sid, b.sid} <= {socket["id"] for socket in listed}
        servers = ui.wait(lambda got: len({args[0]["serverId"] for e, args in got if e == "server_stats"}) >= 2)
        assert servers
        ui.emit("_disconnect", "/", False, b.sid)  # a socket of whichever worker
        deadline = time.monotonic() + 5
        while b.sio.connected:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        ui.close()
    finally:
        for client in made:
            client.sio.disconnect()
        process.stop()


def test_the_official_clients_polling_requests_were_handed_over() -> None:
    """Evidence for the tests above: socket.io-client 4.x opens a connection per polling request
    (Node's client pools none), and the workers count what they handed over as they stop."""
    process = start_workers({})
    try:
        assert run_node("echo", process.url, 4, ["polling"])["results"] == [True] * 12
    finally:
        process.stop()
    handed = [int(n) for n in re.findall(r"handed (\d+) connection", process.output())]
    assert len(handed) == 2 and sum(handed) > 0, process.output()[-2000:]


def test_a_worker_whose_loop_is_blocked_is_replaced() -> None:
    process = start_workers({"WORKER_TIMEOUT": "2"})
    made: list[Client] = []
    try:
        a, b, made = one_on_each_worker(process, ["websocket"])
        gone = threading.Event()
        b.sio.on("disconnect", lambda *reason: gone.set())
        b.sio.emit("block_the_loop", 60)
        process.wait_output(f"(pid {b.pid}) silent for", timeout=10)
        assert gone.wait(10)
        assert a.sio.call("echo", "unaffected", timeout=5) == "unaffected"
        deadline = time.monotonic() + 10
        while len(pids := worker_pids(process, 20)) < 2 or str(b.pid) in pids:
            assert time.monotonic() < deadline, pids
    finally:
        for client in made:
            if client.sio.connected:
                client.sio.disconnect()
        process.stop()


def test_the_workers_of_two_machines_form_one_cluster_through_redis(redis_url: str) -> None:
    """Two supervisors of workers=2 (two machines) on one Redis channel; their heartbeats
    still reach the supervisors (the bus carries nothing else), so no worker is replaced."""
    env = {"QUEUE_URL": redis_url, "CHANNEL": "surge-workers-" + secrets.token_hex(4), "WORKER_TIMEOUT": "2"}
    first, second = start_workers(env), start_workers(env)
    made: list[Client] = []
    try:
        made = [Client(first, ["polling"]), Client(second, ["websocket"])]
        for client in made:
            assert client.sio.call("join", "everywhere", timeout=5) == client.sid
        time.sleep(3)  # longer than WORKER_TIMEOUT
        made[0].sio.emit("to_room", ("everywhere", "across machines"))
        deadline = time.monotonic() + 5
        while not all(("room_message", "across machines") in c.got for c in made):
            assert time.monotonic() < deadline, [c.got for c in made]
            time.sleep(0.02)
        assert sorted(made[1].sio.call("list_room", "everywhere", timeout=5)) == sorted(c.sid for c in made)
        assert "silent for" not in first.output() + second.output()
    finally:
        for client in made:
            client.sio.disconnect()
        first.stop()
        second.stop()


def test_a_handed_over_request_meets_the_same_limits(server: ServerProcess) -> None:
    """A polling POST announcing more than max_http_buffer_size gets the owner's 413, handed over or not."""
    base = "/socket.io/?EIO=4&transport=polling"
    sid = json.loads(fresh(server, "GET", base)[1][1:])["sid"]
    assert fresh(server, "POST", f"{base}&sid={sid}", b"40")[0] == 200
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                f"POST {base}&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                "Content-Length: 2000000\r\n\r\n".encode()
            )
            assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")
    assert fresh(server, "GET", f"{base}&sid={sid}")[0] == 200  # the session is unharmed


@pytest.mark.parametrize("how", HOW)
def test_metrics_count_the_whole_server_whichever_worker_is_scraped(tmp_path: Path, how: str) -> None:
    process = two_workers(how, tmp_path, {"METRICS": "1"})
    made: list[Client] = []
    try:
        a, b, made = one_on_each_worker(process, ["websocket"])
        for client, times in ((a, 3), (b, 5)):
            for n in range(times):
                assert client.sio.call("echo", n, timeout=5) == n  # one argument comes back as itself
        scraped_by = set()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # a connection each, until both workers have answered
            # (a deadline, not a count: under load the kernel may give one worker dozens in a row)
            metrics, pid = scrape_and_pid(process)
            assert metrics['surge_events_received_total{event="echo",namespace="/"}'] == 8
            assert metrics['surge_connected_clients{namespace="/",transport="websocket"}'] == len(made)
            assert metrics['surge_events_received_total{event="whoami",namespace="/"}'] == len(made)
            scraped_by.add(pid)
            if len(scraped_by) == 2:
                break
        assert scraped_by == {a.pid, b.pid}, (scraped_by, a.pid, b.pid)
    finally:
        for client in made:
            client.sio.disconnect()
        process.stop()


def scrape_and_pid(server: ServerProcess) -> tuple[dict[str, float], int]:
    """/metrics, and which worker answered it (the same connection asks /_pid next)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        connection.request("GET", "/_pid")
        return parse_metrics(text), int(connection.getresponse().read())
    finally:
        connection.close()
