"""Engine.IO over real sockets, byte-exact: handshakes, errors, limits, heartbeat, upgrade.

The peer here is a raw HTTP client and the ``websockets`` client library, so the
tests see exactly what goes over the wire.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.conftest import APPS, ServerProcess, pings_in, run_node


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess(APPS / "echo_app.py", {"PING_INTERVAL": "0.3", "PING_TIMEOUT": "0.25", "MAX_BUFFER": "2000"})
    yield proc
    proc.stop()


def request(
    server: ServerProcess, method: str, query: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request(method, "/socket.io/?" + query, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data, {k.lower(): v for k, v in response.getheaders()}


def handshake(server: ServerProcess) -> dict[str, object]:
    status, body, _ = request(server, "GET", "EIO=4&transport=polling")
    assert status == 200 and body[:1] == b"0"
    info: dict[str, object] = json.loads(body[1:])
    return info


def ws_connect(server: ServerProcess, query: str) -> ClientConnection:
    return connect(f"ws://127.0.0.1:{server.port}/socket.io/?{query}", open_timeout=5, close_timeout=2)


def error_of(status: int, body: bytes) -> tuple[int, int, str]:
    data = json.loads(body)
    return status, data["code"], data["message"]


def test_handshake_reports_sub_second_intervals_exactly(server: ServerProcess) -> None:
    info = handshake(server)
    assert info["pingInterval"] == 300 and info["pingTimeout"] == 250
    assert info["upgrades"] == ["websocket"] and info["maxPayload"] == 2000


@pytest.mark.parametrize("query", ["transport=polling", "EIO=5&transport=polling", "EIO=abc&transport=polling"])
def test_bad_eio_version(server: ServerProcess, query: str) -> None:
    assert error_of(*request(server, "GET", query)[:2]) == (400, 5, "Unsupported protocol version")


def test_unknown_transport(server: ServerProcess) -> None:
    assert error_of(*request(server, "GET", "EIO=4&transport=carrier-pigeon")[:2]) == (400, 0, "Transport unknown")


def test_unknown_sid(server: ServerProcess) -> None:
    assert error_of(*request(server, "GET", "EIO=4&transport=polling&sid=nope")[:2]) == (400, 1, "Session ID unknown")


def test_handshake_must_be_a_get(server: ServerProcess) -> None:
    assert error_of(*request(server, "POST", "EIO=4&transport=polling", b"40")[:2]) == (400, 2, "Bad handshake method")


def test_post_is_answered_ok_and_events_flow(server: ServerProcess) -> None:
    sid = handshake(server)["sid"]
    status, body, _ = request(server, "POST", f"EIO=4&transport=polling&sid={sid}", b"40")
    assert (status, body) == (200, b"ok")
    status, body, _ = request(server, "GET", f"EIO=4&transport=polling&sid={sid}")
    packets = body.decode().split("\x1e")
    # The CONNECT reply comes first, then what the connect handler emitted.
    assert packets[0].startswith('40{"sid":"')
    assert packets[1].startswith('42["welcome",')


def test_v3_handshake_then_implicit_connect_of_the_default_namespace(server: ServerProcess) -> None:
    status, body, _ = request(server, "GET", "EIO=3&transport=polling")
    length, _, packet = body.decode().partition(":")
    assert status == 200 and packet.startswith("0{") and int(length) == len(packet.split("2:40")[0])
    sid = json.loads(packet[1 : int(length)])["sid"]
    received = packet[int(length) :]
    if not received:  # the connect handler runs in a worker thread: "40" may come on the next poll
        received = request(server, "GET", f"EIO=3&transport=polling&sid={sid}")[1].decode()
    assert received.startswith("2:40")


def test_invalid_packet_closes_the_session(server: ServerProcess) -> None:
    sid = handshake(server)["sid"]
    status, _, _ = request(server, "POST", f"EIO=4&transport=polling&sid={sid}", b"9garbage")
    assert status == 400
    assert error_of(*request(server, "GET", f"EIO=4&transport=polling&sid={sid}")[:2]) == (400, 1, "Session ID unknown")
    assert f"closing session {sid}" in server.output()


def test_oversize_post_gets_413_and_others_carry_on(server: ServerProcess) -> None:
    sid = handshake(server)["sid"]
    status, _, _ = request(server, "POST", f"EIO=4&transport=polling&sid={sid}", b"4" + b"x" * 3000)
    assert status == 413
    with ws_connect(server, "EIO=4&transport=websocket") as ws:
        ws.recv(timeout=5)
        ws.send("40")
        assert ws.recv(timeout=5).startswith("40{")
        ws.recv(timeout=5)  # welcome
        ws.send('421["echo","still fine"]')
        assert ws.recv(timeout=5) == '431["still fine"]'


def test_polling_request_on_a_websocket_session_is_refused(server: ServerProcess) -> None:
    with ws_connect(server, "EIO=4&transport=websocket") as ws:
        sid = json.loads(ws.recv(timeout=5)[1:])["sid"]
        assert error_of(*request(server, "GET", f"EIO=4&transport=polling&sid={sid}")[:2])[:2] == (400, 3)


def test_upgrade_then_a_second_websocket_is_closed_at_once(server: ServerProcess) -> None:
    sid = handshake(server)["sid"]
    with ws_connect(server, f"EIO=4&transport=websocket&sid={sid}") as ws:
        ws.send("2probe")
        assert ws.recv(timeout=5) == "3probe"
        ws.send("5")
        ws.send("40")
        assert ws.recv(timeout=5).startswith("40{")
        # Accepted, then closed without a status code, as Node's engine.io does.
        with (
            ws_connect(server, f"EIO=4&transport=websocket&sid={sid}") as second,
            pytest.raises(ConnectionClosed) as closed,
        ):
            second.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1005
        ws.send('421["echo","first still works"]')
        assert ws.recv(timeout=5).startswith('42["welcome"')
        assert ws.recv(timeout=5) == '431["first still works"]'


def test_pending_get_is_released_by_the_upgrade(server: ServerProcess) -> None:
    sid = handshake(server)["sid"]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
    time.sleep(0.1)  # let the GET park
    with ws_connect(server, f"EIO=4&transport=websocket&sid={sid}") as ws:
        ws.send("2probe")
        assert ws.recv(timeout=5) == "3probe"
        assert conn.getresponse().read() == b"6"
        ws.send("5")
    conn.close()


def test_websocket_message_over_the_limit_closes_with_1009(server: ServerProcess) -> None:
    with ws_connect(server, "EIO=4&transport=websocket") as ws:
        ws.recv(timeout=5)
        ws.send("4" + "x" * 5000)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_malformed_socketio_packet_closes_only_that_connection(server: ServerProcess) -> None:
    with (
        ws_connect(server, "EIO=4&transport=websocket") as bad,
        ws_connect(server, "EIO=4&transport=websocket") as good,
    ):
        for ws in (bad, good):
            ws.recv(timeout=5)
            ws.send("40")
            ws.recv(timeout=5)
            ws.recv(timeout=5)
        bad.send('42{"not":"an array"}')
        with pytest.raises(ConnectionClosed):
            while True:
                bad.recv(timeout=5)
        good.send('427["echo","ok"]')
        assert good.recv(timeout=5) == '437["ok"]'


def test_silent_client_is_dropped_within_ping_interval_plus_timeout(server: ServerProcess) -> None:
    with ws_connect(server, "EIO=4&transport=websocket") as ws:
        ws.recv(timeout=5)
        ws.send("40")
        sid = json.loads(ws.recv(timeout=5)[2:])["sid"]
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            while True:
                assert ws.recv(timeout=5) in ("2", f'42["welcome",{{"sid":"{sid}","auth":null}}]')
        elapsed = time.monotonic() - started
    # pingInterval 0.3 s + pingTimeout 0.25 s, plus scheduling slack.
    assert elapsed < 0.55 + 0.5
    time.sleep(0.1)
    assert {"event": "disconnect", "namespace": "/", "sid": sid, "reason": "ping timeout"} in server.get_json("/_log")


def test_client_answering_pings_stays_connected(server: ServerProcess) -> None:
    with ws_connect(server, "EIO=4&transport=websocket") as ws:
        ws.recv(timeout=5)
        deadline = time.monotonic() + 1.5
        pings = 0
        while time.monotonic() < deadline:
            if ws.recv(timeout=5) == "2":
                pings += 1
                ws.send("3")
        assert pings >= 3
        ws.send("40")
        assert ws.recv(timeout=5).startswith("40{")


def test_cross_origin_is_refused_by_default(server: ServerProcess) -> None:
    origin = {"Origin": "http://evil.example"}
    assert error_of(*request(server, "GET", "EIO=4&transport=polling", headers=origin)[:2])[:2] == (400, 3)
    same = {"Origin": f"http://127.0.0.1:{server.port}"}
    status, _, headers = request(server, "GET", "EIO=4&transport=polling", headers=same)
    assert status == 200 and headers["access-control-allow-origin"] == same["Origin"]
    with pytest.raises(InvalidStatus):
        connect(
            f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket",
            origin="http://evil.example",
            open_timeout=5,
        )  # type: ignore[arg-type]
    assert server.output().count("http://evil.example is not an accepted origin") == 2  # python-engineio's words


def test_the_cookie_option_sets_the_sid_cookie_under_socketio_run() -> None:
    """The same header as through the WSGI path, where tests/differential compares it with Flask-SocketIO's."""
    server = ServerProcess(APPS / "echo_app.py", {"COOKIE": "io"})
    try:
        status, body, headers = request(server, "GET", "EIO=4&transport=polling")
        sid = json.loads(body[1:])["sid"]
        assert status == 200 and headers["set-cookie"] == f"io={sid}; path=/; SameSite=Lax"
    finally:
        server.stop()


def test_flask_routes_share_the_port(server: ServerProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    for _ in range(2):  # keep-alive: two requests on one connection
        conn.request("GET", "/")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"surge test app")
    conn.close()


@pytest.mark.parametrize("version", [4, 2, 1])
def test_official_client_that_stops_answering_is_dropped(server: ServerProcess, version: int) -> None:
    result = run_node("stop_answering_pings", server.url, version, ["websocket"])
    # pingInterval 0.3 s + pingTimeout 0.25 s on this server, plus scheduling slack.
    assert result["elapsedMs"] < (0.3 + 0.25 + 0.5) * 1000
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        reasons = [e["reason"] for e in server.get_json("/_log") if e.get("sid") == result["sid"]]
        if reasons:
            break
        time.sleep(0.05)
    assert reasons == ["ping timeout"]


def test_a_ping_every_ping_interval_even_when_it_is_shorter_than_ping_timeout() -> None:
    """A PING every pingInterval once the PONG came (the client gives up after pingInterval +
    pingTimeout without one); tests/differential/test_engineio_node.py compares the pace with Node's."""
    server = ServerProcess(APPS / "echo_app.py", {"PING_INTERVAL": "0.5", "PING_TIMEOUT": "20"})
    try:
        handshake, pings = pings_in(server.port, 3.2)
        assert '"pingInterval":500' in handshake
        assert pings >= 5  # one each 0.5 s (with a 20 s timeout, not one each 20 s)
    finally:
        server.stop()
