"""Prometheus metrics at /metrics after known traffic, from the official client and raw sockets."""

from __future__ import annotations

import re
import secrets
import threading
import time
import urllib.request

import socketio

from tests.conftest import APPS, ServerProcess, run_node
from tests.integration.test_hardening import sio_client, slow_client


def scrape(server: ServerProcess) -> dict[str, float]:
    with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return parse_metrics(response.read().decode())


def parse_metrics(text: str) -> dict[str, float]:
    samples = {}
    for line in text.splitlines():
        match = re.match(r"^(surge_\w+(?:\{[^}]*\})?) (\S+)$", line)
        if match:
            samples[match.group(1)] = float(match.group(2))
    return samples


def test_counters_and_gauges_after_known_traffic() -> None:
    server = ServerProcess(APPS / "echo_app.py", {"METRICS": "1", "MAX_WRITE_BUFFER": "65536"})
    try:
        assert run_node("echo", server.url, 4, ["websocket"])["results"] == [True] * 12
        assert run_node("rooms", server.url, 4, ["websocket"])["a"] == [{"hello": "blue"}]
        with sio_client(server) as trigger:
            slow = slow_client(server, "flood")
            trigger.send('421["flood","flood",2000,10000]')  # 20 MB to a client that never reads
            deadline = time.monotonic() + 10
            while (metrics := scrape(server))["surge_congested_clients"] != 1:
                assert time.monotonic() < deadline, metrics
                time.sleep(0.1)
            slow.close()
        assert metrics['surge_connects_total{namespace="/"}'] == 6  # 1 + 3 + the trigger and the slow one
        assert metrics['surge_disconnects_total{namespace="/",reason="client disconnect"}'] == 4
        assert metrics['surge_events_received_total{event="echo",namespace="/"}'] == 12
        assert metrics['surge_events_received_total{event="join",namespace="/"}'] == 3  # 2 + the slow one
        assert metrics['surge_events_emitted_total{event="welcome",namespace="/"}'] == 6
        assert metrics['surge_events_emitted_total{event="room_message",namespace="/"}'] == 1
        assert metrics['surge_events_emitted_total{event="flood",namespace="/"}'] >= 1  # the rest wait for it
        assert metrics['surge_connected_clients{namespace="/",transport="websocket"}'] == 2
        assert metrics["surge_congested_clients"] == 1
        assert metrics['surge_handler_duration_seconds_count{namespace="/"}'] >= 12 + 3 + 1
        assert metrics["surge_worker_threads"] >= 1
        assert "surge_recovery_log_bytes" not in metrics
    finally:
        server.stop()


def test_event_names_from_clients_cannot_grow_the_series_without_bound() -> None:
    server = ServerProcess(APPS / "echo_app.py", {"METRICS": "1"})
    try:
        with sio_client(server) as ws:
            for n in range(150):
                ws.send(f'42["made_up_{n}"]')
            ws.send('4299["echo","done"]')
            assert ws.recv(timeout=5) == '4399["done"]'
        names = {key for key in scrape(server) if key.startswith("surge_events_received_total")}
        assert len(names) <= 100 + 1
        assert 'surge_events_received_total{event="_other",namespace="/"}' in names
    finally:
        server.stop()


def test_traffic_ack_round_trips_and_the_queue(redis_url: str) -> None:
    """Packets and bytes both ways, two server -> client ack round trips (an emit's callback and a
    call()), and the queue's publish wait, on a process of a cluster."""
    env = {"QUEUE_URL": redis_url, "CHANNEL": "surge-metrics-" + secrets.token_hex(4), "METRICS": "1"}
    server = ServerProcess(APPS / "cluster_app.py", env)
    client = socketio.Client(reconnection=False)
    try:
        answered = threading.Event()
        client.on("question", lambda text: "yes to " + text)
        client.on("answered", lambda answer: answered.set())
        client.connect(server.url, transports=["websocket"], wait_timeout=5)
        sid = client.get_sid()
        assert client.call("join", "r1", timeout=5) == sid
        client.emit("ask_other", sid)  # to=sid is local: the emit's callback comes back here
        assert answered.wait(5)
        assert client.call("call_other", sid, timeout=5) == "yes to called"
        came_back = threading.Event()
        client.on("room_message", lambda data: came_back.set())
        client.emit("to_room", ("r1", "x" * 1000))  # published to the queue too
        assert came_back.wait(5)
        metrics = scrape(server)
        assert metrics["surge_ack_round_trip_seconds_count"] == 2
        assert 0 < metrics["surge_ack_round_trip_seconds_sum"] < 5
        assert metrics["surge_packets_received_total"] >= 6  # CONNECT, 4 events, 2 acks
        assert metrics["surge_bytes_received_total"] >= 1000
        assert metrics["surge_bytes_sent_total"] >= 1000  # the room message came back
        deadline = time.monotonic() + 5
        while (metrics := scrape(server))["surge_queue_publish_wait_seconds_count"] < 1:
            assert time.monotonic() < deadline, metrics
            time.sleep(0.05)
        assert metrics["surge_queue_published_total"] >= 1 and metrics["surge_queue_pending"] == 0
    finally:
        client.disconnect()
        server.stop()
