"""Flask routes, read by a real HTTP client: through the built-in server (surge.runtime.wsgi) as
socketio.run, the surge command and gunicorn's SurgeWorker start it, and as ``socketio.asgi_app()``
under uvicorn and hypercorn (surge.runtime.asgi)."""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from tests.apps.routes_app import BIG, CHUNK
from tests.conftest import APPS, ServerProcess

FRONTS = {
    "socketio.run": {},
    "surge module:app": {"FRONT": "surge"},
    "gunicorn -k SurgeWorker": {"FRONT": "gunicorn"},
    "uvicorn": {"FRONT": "asgi", "ASGI_SERVER": "uvicorn"},
    "hypercorn": {"FRONT": "asgi", "ASGI_SERVER": "hypercorn"},
}


@pytest.fixture(scope="module", params=list(FRONTS))
def front(request: pytest.FixtureRequest) -> dict[str, str]:
    return FRONTS[request.param]


@pytest.fixture(scope="module")
def server(front: dict[str, str]) -> Iterator[ServerProcess]:
    server = ServerProcess(APPS / "routes_app.py", front)
    yield server
    server.stop()


@pytest.fixture
def connect(server: ServerProcess) -> Iterator[Callable[[], http.client.HTTPConnection]]:
    """New keep-alive connections to the server, closed after the test."""
    made: list[http.client.HTTPConnection] = []

    def new() -> http.client.HTTPConnection:
        made.append(http.client.HTTPConnection("127.0.0.1", server.port, timeout=10))
        return made[-1]

    yield new
    for conn in made:
        conn.close()


def test_a_page_has_its_length_and_the_connection_stays_for_the_next(
    connect: Callable[[], http.client.HTTPConnection],
) -> None:
    conn = connect()
    for _ in range(3):
        conn.request("GET", "/page")
        response = conn.getresponse()
        assert (response.status, response.getheader("Content-Length"), response.read()) == (200, "5", b"hello")
    conn.request("HEAD", "/page")
    response = conn.getresponse()
    assert (response.status, response.getheader("Content-Length"), response.read()) == (200, "5", b"")
    conn.request("GET", "/page")  # the HEAD's answer had no body in the way
    assert conn.getresponse().read() == b"hello"


def test_a_stream_reaches_the_client_while_the_app_still_produces_it(
    connect: Callable[[], http.client.HTTPConnection],
) -> None:
    conn = connect()
    conn.request("GET", "/held")
    response = conn.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read1() == b"first;"  # while the route waits for /release
    release = connect()
    release.request("GET", "/release")
    assert release.getresponse().read() == b"released"
    assert response.read() == b"second"
    conn.request("GET", "/page")  # the chunked answer ended where the next begins
    assert conn.getresponse().read() == b"hello"


def test_a_stream_to_an_http_1_0_client_ends_with_the_connection() -> None:
    """The built-in server's framing (under an ASGI server, the framing is that server's)."""
    server = ServerProcess(APPS / "routes_app.py")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET /big HTTP/1.0\r\n\r\n")
            received = bytearray()
            while data := sock.recv(1 << 20):
                received += data
        head, body = bytes(received).split(b"\r\n\r\n", 1)
        assert b"transfer-encoding" not in head.lower()  # the end of the body is the end of the connection
        assert len(body) == BIG and body[:CHUNK] == b"\0" * CHUNK and body[-1] == (BIG // CHUNK - 1) % 256
    finally:
        server.stop()


def settled(probe: http.client.HTTPConnection) -> int:
    """What /big has produced, once it stops growing (the route waits, or has stopped)."""

    def produced() -> int:
        probe.request("GET", "/produced")
        return int(probe.getresponse().read())

    before, now = -1, produced()
    while now != before:
        time.sleep(0.3)
        before, now = now, produced()
    return now


def test_a_client_that_does_not_read_holds_the_stream_back(connect: Callable[[], http.client.HTTPConnection]) -> None:
    conn = connect()
    conn.request("GET", "/big")
    response = conn.getresponse()
    probe = connect()
    now = settled(probe)
    assert now < BIG // 4, f"{now} bytes produced for a client that read none"
    body = response.read()
    assert len(body) == BIG and body[-CHUNK:] == bytes([(BIG // CHUNK - 1) % 256]) * CHUNK
    assert settled(probe) == BIG


def test_a_stream_stops_when_its_client_leaves(connect: Callable[[], http.client.HTTPConnection]) -> None:
    conn = connect()
    conn.request("GET", "/big")
    conn.getresponse()  # the head, then the client goes
    conn.close()
    now = settled(connect())
    assert now < BIG // 4, f"{now} bytes produced for a client that left"


def test_a_failing_route_gets_500_and_the_error_is_logged(
    server: ServerProcess, connect: Callable[[], http.client.HTTPConnection]
) -> None:
    conn = connect()
    conn.request("GET", "/fail")
    response = conn.getresponse()
    assert response.status == 500 and b"Internal Server Error" in response.read()
    server.wait_output("this route fails")
