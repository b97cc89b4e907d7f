"""Raw Engine.IO sessions against Node's engine.io (under socket.io 4.8) and Surge: the same answers.

The scripts speak HTTP and WebSocket directly, so they see statuses, bodies and
frames; sids are written as ``<sid>`` before comparing.  Where Surge refuses
what Node lets through (an origin that is not allowed: python-engineio refuses
it with 400, Node answers without CORS headers), only what both must share is
compared: no ``Access-Control-Allow-Origin`` for that origin.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import APPS, ServerProcess, pings_in
from tests.differential.node import NodeServer

PING_INTERVAL, PING_TIMEOUT, ALLOWED = 0.3, 0.25, "http://allowed.example"


@pytest.fixture(scope="module")
def ports() -> Iterator[dict[str, int]]:
    opts = {"pingInterval": PING_INTERVAL * 1000, "pingTimeout": PING_TIMEOUT * 1000, "origin": [ALLOWED]}
    node = NodeServer("node_server.js", opts)
    surge = ServerProcess(
        APPS / "echo_app.py",
        {"PING_INTERVAL": str(PING_INTERVAL), "PING_TIMEOUT": str(PING_TIMEOUT), "CORS_ORIGIN": ALLOWED},
    )
    yield {"node": node.port, "surge": surge.port}
    node.stop()
    surge.stop()


SID = re.compile(r'(?<=sid=)[\w-]+|(?<="sid":")[\w-]+')


def anonymised(text: str) -> str:
    return SID.sub("<sid>", text)


class Session:
    """One script's view of a server: every answer it got, anonymised, in order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: list[Any] = []
        self.sid = ""

    def request(self, method: str, query: str, body: bytes | None = None, **headers: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        conn.request(method, "/socket.io/?" + query, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
        cors = response.getheader("Access-Control-Allow-Origin")
        self.seen.append([method, anonymised(query), response.status, anonymised(text), cors])
        return response.status, text

    def handshake(self) -> None:
        _, body = self.request("GET", "EIO=4&transport=polling")
        self.sid = json.loads(body[1:])["sid"]

    def get_in_background(self) -> Callable[[], None]:
        """A long-polling GET on its own thread; the returned call waits for it and records its answer then."""
        waiting = Session(self.port)
        thread = threading.Thread(target=waiting.request, args=("GET", f"EIO=4&transport=polling&sid={self.sid}"))
        thread.start()
        time.sleep(0.1)  # let the GET park

        def join() -> None:
            thread.join(5)
            self.seen.extend(waiting.seen)

        return join


Script = Callable[[Session], None]
SCRIPTS: dict[str, Script] = {}


def script(fn: Script) -> Script:
    SCRIPTS[fn.__name__] = fn
    return fn


@script
def handshake_and_errors(s: Session) -> None:
    s.handshake()
    s.request("GET", "EIO=5&transport=polling")
    s.request("GET", "EIO=4&transport=carrier-pigeon")
    s.request("GET", "EIO=4&transport=polling&sid=nope")
    s.request("POST", "EIO=4&transport=polling", b"40")
    s.request("POST", f"EIO=4&transport=polling&sid={s.sid}", b"40")


@script
def aborted_get_closes_the_session(s: Session) -> None:
    s.handshake()
    with socket.create_connection(("127.0.0.1", s.port)) as raw:
        raw.sendall(f"GET /socket.io/?EIO=4&transport=polling&sid={s.sid} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.1)
    time.sleep(0.1)
    s.request("GET", f"EIO=4&transport=polling&sid={s.sid}")


@script
def close_packet_while_a_get_waits(s: Session) -> None:
    s.handshake()
    waiting = s.get_in_background()
    s.request("POST", f"EIO=4&transport=polling&sid={s.sid}", b"1")
    waiting()
    s.request("GET", f"EIO=4&transport=polling&sid={s.sid}")


@script
def overlapping_gets(s: Session) -> None:
    s.handshake()
    waiting = s.get_in_background()
    s.request("GET", f"EIO=4&transport=polling&sid={s.sid}")
    waiting()
    s.request("GET", f"EIO=4&transport=polling&sid={s.sid}")


@script
def heartbeat_over_polling(s: Session) -> None:
    s.handshake()
    s.request("GET", f"EIO=4&transport=polling&sid={s.sid}")  # the PING, after pingInterval
    s.request("POST", f"EIO=4&transport=polling&sid={s.sid}", b"3")
    time.sleep(PING_INTERVAL + PING_TIMEOUT + 0.3)  # the next PING is not answered: the session closes
    s.request("GET", f"EIO=4&transport=polling&sid={s.sid}")


@script
def second_websocket_after_the_upgrade(s: Session) -> None:
    s.handshake()
    url = f"ws://127.0.0.1:{s.port}/socket.io/?EIO=4&transport=websocket&sid={s.sid}"
    with connect(url, open_timeout=5) as ws:
        ws.send("2probe")
        s.seen.append(["ws", ws.recv(timeout=5)])
        ws.send("5")
        time.sleep(0.05)
        try:
            with connect(url, open_timeout=5) as second:
                s.seen.append(["second websocket", "accepted"])
                second.recv(timeout=5)
        except ConnectionClosed as closed:
            s.seen.append(["second websocket closed", closed.rcvd.code if closed.rcvd else None])
        except Exception as exc:
            s.seen.append(["second websocket refused", type(exc).__name__])
        ws.send("4hello")
        s.seen.append(["first websocket still open", ws.protocol.state.name])


@script
def allowed_origin_gets_cors_headers(s: Session) -> None:
    s.request("GET", "EIO=4&transport=polling", Origin=ALLOWED)
    s.seen[-1][3] = "<handshake>"
    s.request("OPTIONS", "EIO=4&transport=polling", Origin=ALLOWED)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_same_as_node(ports: dict[str, int], name: str) -> None:
    recordings = {}
    for server, port in ports.items():
        session = Session(port)
        SCRIPTS[name](session)
        recordings[server] = session.seen
    assert recordings["surge"] == recordings["node"]


def test_a_refused_origin_gets_no_cors_headers(ports: dict[str, int]) -> None:
    for port in ports.values():
        session = Session(port)
        session.request("GET", "EIO=4&transport=polling", Origin="http://evil.example")
        assert session.seen[-1][4] is None


def test_a_ping_interval_shorter_than_the_ping_timeout_paces_the_pings_as_on_node() -> None:
    """pingInterval 0.3 s with pingTimeout 2 s (the fixture above has the interval the longer)."""
    node = NodeServer("node_server.js", {"pingInterval": 300, "pingTimeout": 2000, "origin": [ALLOWED]})
    surge = ServerProcess(APPS / "echo_app.py", {"PING_INTERVAL": "0.3", "PING_TIMEOUT": "2"})
    try:
        counts = {"node": pings_in(node.port, 2.0)[1], "surge": pings_in(surge.port, 2.0)[1]}
    finally:
        node.stop()
        surge.stop()
    assert counts["node"] >= 5, counts  # one each 0.3 s, not one each 2 s
    assert abs(counts["surge"] - counts["node"]) <= 1, counts
