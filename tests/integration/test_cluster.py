"""Several Surge processes act as one through a real Redis or RabbitMQ, with official npm clients on different processes.

The tests taking ``queue`` run on Redis pub/sub, Redis Streams and RabbitMQ; those taking
``queue_url`` on the two Flask-SocketIO also speaks; the rest are about one transport.
"""

from __future__ import annotations

import json
import pickle
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from surge import SocketIO
from surge.queue.messages import Kind
from tests.conftest import APPS, Queue, RedisServer, ServerProcess, machine_rabbitmq_url, run_steered
from tests.proxy import TcpProxy
from tests.queue.psio_releases import delivered, publish, published, reference


@contextmanager
def cluster(queue: str | Queue, count: int = 2) -> Iterator[tuple[list[ServerProcess], str]]:
    queue = queue if isinstance(queue, Queue) else Queue(queue)
    channel = "surge-test-" + secrets.token_hex(4)
    servers = [ServerProcess(APPS / "cluster_app.py", {**queue.env(), "CHANNEL": channel}) for _ in range(count)]
    try:
        time.sleep(0.5)  # let every process subscribe
        yield servers, channel
    finally:
        for server in servers:
            server.stop()


def run_cluster_clients(
    urls: list[str],
    steps: list[str],
    during: Callable[[list[str]], None] = lambda sids: None,
    settle: int = 600,
    stamp: bool = False,
    every_event: bool = False,
) -> dict[str, Any]:
    """Clients: one on urls[0], two on urls[1]; ``during(sids)`` runs once they have joined room1;
    ``every_event``: each client's events, whole, under ``got[i]["any"]``.

    With ``stamp``, every event received comes with its arrival time, and ``acks["go"]`` is when
    the steps began (milliseconds since the epoch, as ``time.time() * 1000``)."""
    opts = {"scenario": "cluster", "version": 4, "urls": urls, "steps": steps, "settle": settle, "timeout": 40000}
    opts["stamp"] = stamp
    opts["any"] = every_event

    def when_ready(line: dict[str, Any]) -> None:
        assert "ready" in line, line
        during(line["ready"])

    result = run_steered(opts, when_ready)
    assert "error" not in result, result
    return result


def test_room_broadcast_reaches_every_member_on_every_process_once(queue: Queue) -> None:
    with cluster(queue) as (servers, _):
        result = run_cluster_clients([s.url for s in servers], ["room"])
    assert [g["room_message"] for g in result["got"]] == [[{"hello": "cluster"}]] * 3


def test_private_message_to_a_client_of_another_process(queue: Queue) -> None:
    with cluster(queue) as (servers, _):
        result = run_cluster_clients([s.url for s in servers], ["dm"])
    sender = result["sids"][0]
    assert [g["dm"] for g in result["got"]] == [[], [{"from": sender, "data": "psst"}], []]


def test_join_room_for_a_client_of_another_process(queue: Queue) -> None:
    with cluster(queue) as (servers, _):
        result = run_cluster_clients([s.url for s in servers], ["put"])
    assert [g["room_message"] for g in result["got"]] == [[], ["only b1"], []]


def test_write_only_emitter_from_another_process(queue: Queue) -> None:
    with cluster(queue) as (servers, channel):
        emitter = SocketIO(message_queue=queue.url, redis_streams=queue.streams, channel=channel)

        def push(sids: list[str]) -> None:
            emitter.emit("notice", {"to": "room"}, to="room1")
            emitter.emit("notice", {"to": "one"}, to=sids[2])

        result = run_cluster_clients([s.url for s in servers], [], push)
    assert [g["notice"] for g in result["got"]] == [[{"to": "room"}], [{"to": "room"}], [{"to": "room"}, {"to": "one"}]]


def test_a_flask_socketio_emitter_reaches_surge_clients(queue_url: str) -> None:
    """Flask-SocketIO's own write-only emitter (python-socketio's JSON messages) on Surge's channel."""
    import flask_socketio

    with cluster(queue_url) as (servers, channel):
        emitter = flask_socketio.SocketIO(message_queue=queue_url, channel=channel)

        def push(sids: list[str]) -> None:
            emitter.emit("notice", {"to": "room"}, to="room1")
            emitter.emit("notice", {"to": "one"}, to=sids[2])
            emitter.emit("notice", {"to": "room but 1"}, to="room1", skip_sid=sids[1])
            emitter.emit("notice", {"bytes": b"\x00\x01"}, to=sids[0])
            emitter.close_room("room1")
            emitter.emit("notice", {"to": "closed room"}, to="room1")

        try:
            result = run_cluster_clients([s.url for s in servers], [], push)
        finally:
            publisher = getattr(emitter.server.manager, "publisher_connection", None)
            if publisher is not None:  # python-socketio's kombu connection is never closed by it
                publisher.release()
        assert all("ignoring a message" not in server.output() for server in servers)
    assert [g["notice"] for g in result["got"]] == [
        [{"to": "room"}, {"to": "room but 1"}, {"bytes": {"type": "Buffer", "data": [0, 1]}}],
        [{"to": "room"}],
        [{"to": "room"}, {"to": "one"}, {"to": "room but 1"}],
    ]


@pytest.mark.parametrize("version", ["5.14.0", "installed"])
def test_an_older_python_socketio_emitter_reaches_surge_clients(queue_url: str, redis_url: str, version: str) -> None:
    """A release that publishes data bare (5.14) and the installed one, through Redis and RabbitMQ:
    Surge's clients get every event as python-socketio's own receiver would have sent it."""
    _, raw = published(version, redis_url)  # what the release publishes, read by the reference
    seen = [step for message in raw for step in reference(message)]
    expected = [delivered(step[2], step[3]) for step in seen if step[0] == Kind.EMIT and step[1] == "/"]
    with cluster(queue_url) as (servers, channel):
        result = run_cluster_clients(
            [s.url for s in servers], [], lambda sids: publish(version, queue_url, channel), every_event=True
        )
    assert len(expected) >= 15
    assert [g["any"] for g in result["got"]] == [expected] * 3


def test_python_socketio_messages_are_translated_or_refused() -> None:
    from surge.protocol.errors import RemoteProtocolError
    from surge.queue import foreign
    from surge.queue.messages import Kind

    emit = foreign.decode(
        {
            "method": "emit",
            "event": "e",
            "data": [1, "2"],
            "namespace": "/chat",
            "room": ["a", "b"],
            "skip_sid": "s",
            "callback": None,
            "host_id": "h",
        }
    )
    assert emit is not None and (emit.kind, emit.ns, emit.to, emit.skip) == (Kind.EMIT, "/chat", ("a", "b"), ("s",))
    assert emit.packet == '2/chat,["e",1,"2"]'
    join = foreign.decode({"method": "enter_room", "sid": "x", "room": "r", "namespace": None})
    assert join is not None and (join.kind, join.sid, join.room, join.ns) == (Kind.ENTER_ROOM, "x", "r", "/")
    assert foreign.decode({"method": "callback", "host_id": "h", "sid": "x", "id": 1, "args": []}) is None
    for bad in ({"method": "teleport"}, {"method": "emit", "event": 3, "data": []}, {"method": "enter_room", "sid": 1}):
        with pytest.raises(RemoteProtocolError):
            foreign.decode(bad)


def test_garbage_and_pickles_on_the_channel_are_ignored_with_a_log_line(redis_url: str) -> None:
    with cluster(redis_url) as (servers, channel):
        client = redis.Redis.from_url(redis_url)
        client.publish(channel, pickle.dumps({"kind": "emit"}))
        client.publish(channel, b"not json")
        client.publish(channel, json.dumps({"v": 99, "kind": "emit"}))
        result = run_cluster_clients([s.url for s in servers], ["room"])  # and the cluster still works
        for server in servers:
            server.wait_output("ignoring a message on the queue channel", 3, timeout=5)
    assert [g["room_message"] for g in result["got"]] == [[{"hello": "cluster"}]] * 3


def test_dropped_amqp_connections_lose_nothing() -> None:
    """The broker closes every connection; the room emit made meanwhile reaches every member once."""
    rabbitmqctl = shutil.which("rabbitmqctl")
    assert rabbitmqctl, "rabbitmqctl comes with rabbitmq-server (make test installs it)"
    with cluster(machine_rabbitmq_url()) as (servers, _):

        def drop(sids: list[str]) -> None:
            subprocess.run([rabbitmqctl, "close_all_connections", "surge test"], check=True, capture_output=True)

        result = run_cluster_clients([s.url for s in servers], ["room"], drop, settle=4000)
        assert [g["room_message"] for g in result["got"]] == [[{"hello": "cluster"}]] * 3
        assert all("reconnected to the AMQP broker" in server.output() for server in servers)


def wait_in_output(server: ServerProcess, text: str, timeout: float = 15) -> float:
    """When (seconds since the epoch, from tests/apps/cluster_app.py's log) ``text`` was last logged."""
    line = [line for line in server.wait_output(text, timeout=timeout).splitlines() if text in line][-1]
    return float(line.split()[0])


def test_after_a_redis_restart_an_emit_goes_out_at_once() -> None:
    """Redis restarted and every listener back: the publisher's stale connection costs no wait."""
    own = RedisServer()
    try:
        with cluster(own.url) as (servers, _):

            def restart(sids: list[str]) -> None:
                own.stop()
                time.sleep(2)
                own.start()
                for server in servers:
                    wait_in_output(server, "reconnected to Redis")
                time.sleep(1)

            result = run_cluster_clients([s.url for s in servers], ["room"], restart, settle=3000, stamp=True)
        got = [g["room_message"] for g in result["got"]]
        assert [[message for message, _ in g] for g in got] == [[{"hello": "cluster"}]] * 3
        delays = [at - result["acks"]["go"] for g in got[1:] for _, at in g]  # the clients of the other process
        assert max(delays) < 1000, delays
    finally:
        own.stop()


@pytest.mark.parametrize("streams", [True, False], ids=["streams", "pub/sub"])
def test_a_listener_cut_off_for_2_s_misses_nothing_with_streams(redis_url: str, streams: bool) -> None:
    """Process B reaches Redis through a proxy that drops its connections and refuses new ones for 2 s
    while A's client sends 100 room messages: with Redis Streams B's clients get all 100, in order;
    with pub/sub those sent meanwhile are lost to them (which shows B was really cut off)."""
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    proxy = TcpProxy(redis_port)
    channel = "surge-test-" + secrets.token_hex(4)
    through_proxy = redis_url.replace(f":{redis_port}/", f":{proxy.port}/")
    servers = [
        ServerProcess(APPS / "cluster_app.py", {**Queue(url, streams).env(), "CHANNEL": channel})
        for url in (redis_url, through_proxy)
    ]
    try:
        time.sleep(0.5)
        result = run_cluster_clients(
            [s.url for s in servers], ["burst"], lambda sids: proxy.drop(refuse_for=2.0), settle=6000
        )
    finally:
        for server in servers:
            server.stop()
        proxy.close()
    sent = [{"n": n} for n in range(100)]
    got_a, got_b1, got_b2 = (g["room_message"] for g in result["got"])
    assert got_a == sent
    assert "lost the Redis" in servers[1].output()
    if streams:
        assert got_b1 == got_b2 == sent
    else:
        assert len(got_b1) < 100 and got_b1 == got_b2


def test_redis_restart_loses_nothing_buffered() -> None:
    """Emits made while Redis is down reach the other process's clients once it is back (README promise),
    within a second of the last listener's resubscription."""
    own = RedisServer()
    restarter = threading.Timer(2.0, own.start)
    try:
        with cluster(own.url) as (servers, _):
            time.sleep(1)  # every process has counted the listeners

            def outage(sids: list[str]) -> None:
                own.stop()
                restarter.start()

            # The room emit happens while Redis is down; the clients stay 8 s to see it arrive.
            result = run_cluster_clients([s.url for s in servers], ["room"], outage, settle=8000, stamp=True)
            resubscribed = max(wait_in_output(server, "reconnected to Redis") for server in servers)
            got = [g["room_message"] for g in result["got"]]
            assert [[message for message, _ in g] for g in got] == [[{"hello": "cluster"}]] * 3
            assert "lost the Redis subscription" in servers[1].output()
            assert "Redis is back; publishing 1 buffered message(s) (2 of 2 listener(s) back)" in servers[0].output()
            arrived = max(at for g in got[1:] for _, at in g) / 1000
            assert arrived - resubscribed < 1.0, (arrived, resubscribed)
    finally:
        restarter.join()
        own.stop()


def test_ack_from_a_client_of_another_process(queue: Queue) -> None:
    with cluster(queue) as (servers, _):
        result = run_cluster_clients([s.url for s in servers], ["ask"])
    # a (process 1) asked b1 (process 2); b1's ack reached the callback on process 1, which told a.
    assert result["got"][0]["answered"] == [["answer from 1", "from " + result["sids"][0]]]


def test_call_a_client_of_another_process(queue: Queue) -> None:
    with cluster(queue) as (servers, _):
        result = run_cluster_clients([s.url for s in servers], ["call"])
    assert result["acks"]["call"] == ["answer from 2", "called"]  # call() returned both ack arguments


def test_fetch_sockets_across_processes(queue: Queue) -> None:
    with cluster(queue) as (servers, _):
        result = run_cluster_clients([s.url for s in servers], ["fetch"])
    assert result["acks"]["fetch"] == [sorted(result["sids"])]


def test_sockets_join_and_disconnect_sockets_across_processes(queue: Queue) -> None:
    with cluster(queue) as (servers, _):
        result = run_cluster_clients([s.url for s in servers], ["move", "kick"])
    assert [g["room_message"] for g in result["got"]] == [["in room3"]] * 3
    assert [g["disconnect"] for g in result["got"]] == [["io server disconnect"]] * 3


def test_redis_over_a_unix_socket(tmp_path: Path) -> None:
    own = RedisServer(unix_socket=tmp_path / "redis.sock")
    try:
        with cluster(own.url) as (servers, _):
            result = run_cluster_clients([s.url for s in servers], ["room"])
        assert [g["room_message"] for g in result["got"]] == [[{"hello": "cluster"}]] * 3
    finally:
        own.stop()


def test_redis_over_tls(tmp_path: Path) -> None:
    own = RedisServer(tls_dir=tmp_path)
    try:
        with cluster(own.url) as (servers, channel):
            emitter = SocketIO(message_queue=own.url, channel=channel)
            result = run_cluster_clients(
                [s.url for s in servers], ["room"], lambda sids: emitter.emit("notice", "tls", to="room1")
            )
        assert [g["room_message"] for g in result["got"]] == [[{"hello": "cluster"}]] * 3
        assert [g["notice"] for g in result["got"]] == [["tls"]] * 3
    finally:
        own.stop()


def test_a_redis_url_where_nothing_listens_is_said_so_and_reached_once_it_listens() -> None:
    """Not "lost the Redis subscription": the process never had one."""
    redis_server = RedisServer()
    redis_server.stop()  # its port, with nothing listening there yet
    server = ServerProcess(APPS / "cluster_app.py", {"QUEUE_URL": redis_server.url, "CHANNEL": "nowhere"})
    try:
        server.wait_output("cannot reach Redis", timeout=10)
        redis_server.start()
        try:
            server.wait_output("reached Redis; listening on 'nowhere'", timeout=20)
        finally:
            redis_server.stop()
        assert "lost the Redis" not in server.output().split("reached Redis")[0]
    finally:
        server.stop()
