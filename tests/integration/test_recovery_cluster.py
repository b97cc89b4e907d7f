"""Connection state recovery across the processes of a cluster on Redis Streams, with the official
4.x client: it comes back on another process, also after its first process was killed with SIGKILL.

The client reaches the servers through a proxy the test points at one process, then at the
other, and cuts (tests/proxy.py), so its reconnection lands where the test says.
"""

from __future__ import annotations

import os
import secrets
import signal
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import APPS, ServerProcess, run_steered
from tests.integration.test_recovery import RECOVERED, WAYS
from tests.proxy import TcpProxy


@contextmanager
def two_processes(redis_url: str, **env: str) -> Iterator[tuple[ServerProcess, ServerProcess, TcpProxy]]:
    channel = "surge-recovery-" + secrets.token_hex(4)
    config = {"QUEUE_URL": redis_url, "CHANNEL": channel, **env}
    first = ServerProcess(APPS / "recovery_app.py", config)
    second = ServerProcess(APPS / "recovery_app.py", config)
    proxy = TcpProxy(first.port)
    try:
        time.sleep(0.5)  # both read the stream
        yield first, second, proxy
    finally:
        proxy.close()
        first.stop()
        second.stop()


def moved_client(url: str, transports: list[str], cut: Any, away: int = 1000, delay: int = 200) -> dict[str, Any]:
    """The recovery scenario on ``url``; once the client is ready, ``cut(sid)`` cuts it off (and moves it)."""
    opts = {
        "scenario": "recovery",
        "version": 4,
        "url": url,
        "transports": transports,
        "before": True,
        "cutByTest": True,
        "away": away,
        "delay": delay,
    }
    result = run_steered(opts, lambda ready: cut(ready["id"]), timeout=30)
    assert "error" not in result, result
    return result


def get(server: ServerProcess, path: str) -> None:
    with urllib.request.urlopen(server.url + path, timeout=5) as response:
        response.read()


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
def test_a_client_comes_back_on_the_other_process(redis_url: str, transports: list[str]) -> None:
    with two_processes(redis_url) as (_first, second, proxy):

        def cut(sid: str) -> None:
            proxy.target_port = second.port
            proxy.drop()

        result = moved_client(f"http://127.0.0.1:{proxy.port}", transports, cut)
        assert result["recovered"] is True, result
        assert result["id"] == result["firstId"]
        assert result["whoami"] == {"sid": result["firstId"], "recovered": True}
        assert [args[:2] for args in result["got"]] == RECOVERED  # "now" went to r1 from the second


def test_a_client_of_a_process_killed_with_sigkill_recovers_on_another(redis_url: str) -> None:
    with two_processes(redis_url) as (first, second, proxy):

        def cut(sid: str) -> None:
            proxy.target_port = second.port
            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait()
            proxy.drop()
            get(second, f"/_push/{sid}")  # what it misses now comes from the survivor

        result = moved_client(f"http://127.0.0.1:{proxy.port}", ["websocket"], cut, away=1000, delay=60_000)
        assert result["recovered"] is True, result
        assert result["id"] == result["firstId"]
        assert [args[:2] for args in result["got"]] == RECOVERED


def test_a_client_of_a_process_that_stops_recovers_on_another(redis_url: str) -> None:
    """A process stopped (SIGTERM: a deploy) keeps its clients' sessions, as Node's socket.io."""
    with two_processes(redis_url) as (first, second, proxy):

        def cut(sid: str) -> None:
            proxy.target_port = second.port
            assert first.stop() == 0
            proxy.drop()  # the proxy's side of the closed connection too
            get(second, f"/_push/{sid}")

        result = moved_client(f"http://127.0.0.1:{proxy.port}", ["websocket"], cut, delay=60_000)
        assert result["recovered"] is True, result
        assert [args[:2] for args in result["got"]] == RECOVERED


def test_the_take_over_drops_the_stale_socket_on_the_first_process(redis_url: str) -> None:
    with two_processes(redis_url) as (first, second, proxy):
        seen: dict[str, Any] = {}

        def cut(sid: str) -> None:
            proxy.target_port = second.port
            proxy.drop(silent=True)  # the first process keeps a connection that looks alive
            seen["before"] = first.get_json("/_sockets")

        result = moved_client(f"http://127.0.0.1:{proxy.port}", ["websocket"], cut)
        assert result["recovered"] is True, result
        assert seen["before"] == {result["firstId"]: sorted([result["firstId"], "r1"])}
        assert first.get_json("/_sockets") == {}  # dropped when the second took the session over


def test_a_client_away_longer_than_the_window_gets_a_fresh_session_elsewhere(redis_url: str) -> None:
    with two_processes(redis_url, RECOVERY_WINDOW="0.5") as (_first, second, proxy):

        def cut(sid: str) -> None:
            proxy.target_port = second.port
            proxy.drop()

        result = moved_client(f"http://127.0.0.1:{proxy.port}", ["websocket"], cut, away=1500)
        assert result["recovered"] is False
        assert result["id"] != result["firstId"]
        assert [args[0] for args in result["got"]] == ["before"]


def test_a_client_recovers_on_a_process_started_after_it_was_cut_off(redis_url: str) -> None:
    """The process it comes back to reads the stream's recent past when it starts."""
    channel = "surge-recovery-" + secrets.token_hex(4)
    config = {"QUEUE_URL": redis_url, "CHANNEL": channel}
    first = ServerProcess(APPS / "recovery_app.py", config)
    proxy = TcpProxy(first.port)
    later: list[ServerProcess] = []
    try:
        time.sleep(0.5)

        def cut(sid: str) -> None:
            proxy.drop()
            # The first process sends what the client misses (200 ms after the cut): "before" and
            # these five in the stream, then it dies.
            with redis.Redis.from_url(redis_url) as client:
                deadline = time.monotonic() + 10
                while client.xlen(channel) < 6:
                    assert time.monotonic() < deadline, client.xlen(channel)
                    time.sleep(0.02)
            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait()
            later.append(ServerProcess(APPS / "recovery_app.py", config))
            proxy.target_port = later[0].port

        result = moved_client(f"http://127.0.0.1:{proxy.port}", ["websocket"], cut, away=4000)
        assert result["recovered"] is True, result
        assert result["id"] == result["firstId"]
        assert [args[:2] for args in result["got"]] == RECOVERED  # from the stream, read when it started
    finally:
        proxy.close()
        first.stop()
        for server in later:
            server.stop()


@pytest.mark.parametrize(
    ("queue", "stop"), [("redis streams", signal.SIGKILL), ("none", signal.SIGKILL), ("none", signal.SIGTERM)]
)
def test_a_client_of_a_worker_killed_or_stopped_recovers_on_a_live_worker(
    redis_url: str, queue: str, stop: int
) -> None:
    """workers=2, on Redis Streams or with no queue (the supervisor then orders the bus and keeps
    the sessions): whichever worker it reconnects to (the other, or the one started in the killed
    one's place) gives it its session back."""
    env = {"WORKERS": "2"}
    if queue != "none":
        env.update(QUEUE_URL=redis_url, CHANNEL="surge-recovery-" + secrets.token_hex(4))
    server = ServerProcess(APPS / "recovery_app.py", env)
    try:
        deadline = time.monotonic() + 10
        while len({server.get_json("/_where/-")["pid"] for _ in range(10)}) < 2:  # both workers serve
            assert time.monotonic() < deadline, server.output()
        time.sleep(0.5)  # and read the stream

        def cut(sid: str) -> None:
            deadline = time.monotonic() + 10
            while not (found := server.get_json(f"/_where/{sid}"))["here"]:  # a connection each time
                assert time.monotonic() < deadline, "no worker has the client"
            os.kill(found["pid"], stop)
            server.wait_output(f"exited ({'killed by SIGKILL' if stop == signal.SIGKILL else 'exit code 0'}); starting")
            get(server, f"/_push/{sid}")

        result = moved_client(server.url, ["websocket"], cut, away=1500, delay=60_000)
        assert result["recovered"] is True, result
        assert result["id"] == result["firstId"]
        assert [args[:2] for args in result["got"]] == RECOVERED
    finally:
        server.stop()


@pytest.mark.parametrize("way", list(WAYS))
def test_a_client_moves_to_a_process_started_another_way(tmp_path: Path, redis_url: str, way: str) -> None:
    """The first process from socketio.run, the second from flask run, gunicorn or uvicorn."""
    code, env = WAYS[way]
    (tmp_path / "serve.py").write_text(code)
    config = {"QUEUE_URL": redis_url, "CHANNEL": "surge-recovery-" + secrets.token_hex(4)}
    first = ServerProcess(APPS / "recovery_app.py", config)
    second = ServerProcess(tmp_path / "serve.py", {**config, **env}, cwd=APPS)
    proxy = TcpProxy(first.port)
    try:
        time.sleep(0.5)

        def cut(sid: str) -> None:
            proxy.target_port = second.port
            proxy.drop()

        result = moved_client(f"http://127.0.0.1:{proxy.port}", ["websocket"], cut)
        assert result["recovered"] is True, (way, result)
        assert result["id"] == result["firstId"]
        assert [args[:2] for args in result["got"]] == RECOVERED
    finally:
        proxy.close()
        first.stop()
        second.stop()
