"""Bad input, slow and greedy clients cost nothing but a log line (issue: hardened for the open internet).

Each test checks the exact outcome and that a well-behaved client still gets
correct echoes afterwards.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conftest import APPS, ServerProcess

LIMITS = {
    "MAX_BUFFER": "5000",
    "REQUEST_TIMEOUT": "0.5",
    "MAX_CONNECTIONS": "40",
    "MAX_WRITE_BUFFER": str(512 * 1024),
    "PING_INTERVAL": "1",
    "PING_TIMEOUT": "1",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    proc = ServerProcess(APPS / "echo_app.py", LIMITS)
    yield proc
    proc.stop()


def raw(server: ServerProcess, data: bytes, wait: float = 5.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes or ``wait`` passes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


@contextmanager
def sio_client(server: ServerProcess) -> Iterator[ClientConnection]:
    with connect(
        f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", open_timeout=5, max_size=None
    ) as ws:
        assert ws.recv(timeout=5).startswith("0{")
        ws.send("40")
        assert ws.recv(timeout=5).startswith("40{")
        assert ws.recv(timeout=5).startswith('42["welcome"')
        yield ws


def recv(ws: ClientConnection, timeout: float = 20) -> str | bytes:
    """The next message that is not a ping; pings are answered, as a client must."""
    while (message := ws.recv(timeout=timeout)) == "2":
        ws.send("3")
    return message


def assert_still_serving(server: ServerProcess) -> None:
    with sio_client(server) as ws:
        ws.send('4299["echo","still fine"]')
        assert ws.recv(timeout=5) == '4399["still fine"]'


def test_content_length_over_the_limit_is_refused_before_the_body(server: ServerProcess) -> None:
    head = b"POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: a\r\nContent-Length: 9000000\r\n\r\n"
    answer = raw(server, head, wait=2)  # no body is ever sent: the answer cannot wait for it
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert_still_serving(server)


def test_chunked_body_over_the_limit_gets_413(server: ServerProcess) -> None:
    head = b"POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"1000\r\n" + b"x" * 4096 + b"\r\n"
    answer = raw(server, head + chunk * 3 + b"0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert_still_serving(server)


def test_too_many_headers_get_431(server: ServerProcess) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    answer = raw(server, b"GET / HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert_still_serving(server)


def test_slowloris_request_times_out(server: ServerProcess) -> None:
    started = time.monotonic()
    answer = raw(server, b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ", wait=5)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started < 3
    server.wait_output("request not received in time")
    assert_still_serving(server)


def test_bad_content_length_is_answered(server: ServerProcess) -> None:
    answer = raw(server, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: nope\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")


def test_open_packet_from_a_client_closes_only_its_session(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n")
        sid = json.loads(sock.recv(4096).split(b"\r\n\r\n", 1)[1][1:])["sid"]
        body = b"0{}"
        sock.sendall(
            b"POST /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s"
            % (sid.encode(), len(body), body)
        )
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")  # answered, not left hanging
    server.wait_output(f"closing session {sid}: unexpected OPEN packet from client")
    assert_still_serving(server)


def test_connection_cap(server: ServerProcess) -> None:
    # Leave room for the clients other tests hold; fill up the rest, then one more is turned away.
    socks = []
    try:
        while True:
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=2)
            socks.append(sock)
            try:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                if not sock.recv(4096):
                    break
            except ConnectionResetError:
                break
            assert len(socks) <= 40
        server.wait_output("refusing connections")
    finally:
        for sock in socks:
            sock.close()
    time.sleep(0.2)
    assert_still_serving(server)


def test_lookalike_origins_are_refused(server: ServerProcess) -> None:
    for origin in (
        f"http://127.0.0.1:{server.port}.evil.com",
        f"http://evil127.0.0.1:{server.port}",
        f"ftp://127.0.0.1:{server.port}",
    ):
        answer = raw(
            server,
            b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: %s\r\n\r\n"
            % (server.port, origin.encode()),
            wait=1,
        )
        assert answer.startswith(b"HTTP/1.1 400 "), origin


def vm_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def slow_client(server: ServerProcess, room: str) -> socket.socket:
    """A raw socket with a small receive buffer that joins ``room`` and never reads again."""
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(("127.0.0.1", server.port))
    slow.sendall(
        b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    time.sleep(0.2)
    for text in (b"40", f'422["join","{room}"]'.encode()):
        slow.sendall(bytes([0x81, 0x80 | len(text), 0, 0, 0, 0]) + text)  # masked with a zero key
    time.sleep(0.3)
    return slow


def test_a_client_that_never_reads_costs_bounded_memory(server: ServerProcess) -> None:
    with sio_client(server) as good, sio_client(server) as trigger:
        good.send('421["join","flood"]')
        assert good.recv(timeout=5) == '431["flood"]'
        slow = slow_client(server, "flood")
        baseline = vm_rss_kib(server.proc.pid)
        count, size = 2000, 10_000  # 20 MB broadcast
        trigger.send(f'423["flood","flood",{count},{size}]')
        ack = ThreadPoolExecutor(1).submit(recv, trigger)  # keeps answering the trigger's pings
        got = 0
        while got < count:
            message = recv(good)
            assert isinstance(message, str)
            if message.startswith('42["flood",'):
                assert json.loads(message[2:])[1]["n"] == got  # every message, in order
                got += 1
        assert ack.result(timeout=20) == f"433[{count}]"
        peak = vm_rss_kib(server.proc.pid)
        # Dropped after the heartbeat window: by the output limit, or by the ping it never answered.
        deadline = time.monotonic() + 5
        while "over 524288 bytes of output unread for 2 s" not in server.output() and not re.search(
            r"closing session \S+: ping timeout", server.output()
        ):
            assert time.monotonic() < deadline, "the slow client was not dropped"
            time.sleep(0.05)
        assert peak - baseline < 8 * 1024, (baseline, peak)  # KiB: the buffer limit plus allocator slack
        slow.close()
    assert_still_serving(server)


def test_a_client_that_never_reads_holds_back_only_the_emits_that_reach_it(server: ServerProcess) -> None:
    def flood_numbers(ws: ClientConnection, count: int) -> list[int]:
        return [json.loads(str(recv(ws))[2:])[1]["n"] for _ in range(count)]

    with (
        ThreadPoolExecutor(3) as readers,  # they answer pings while the test waits
        sio_client(server) as trigger,
        sio_client(server) as other,
        sio_client(server) as other_trigger,
    ):
        other.send('421["join","elsewhere"]')
        assert recv(other) == '431["elsewhere"]'
        seen = readers.submit(flood_numbers, other, 500)
        other_ack = readers.submit(recv, other_trigger)
        logged_before = len(server.output())
        slow = slow_client(server, "stuck")
        trigger.send('421["flood","stuck",2000,10000]')  # waits on the slow client until it is dropped
        stalled = readers.submit(recv, trigger)
        time.sleep(0.5)  # by now the slow client is congested and the first flood waits
        other_trigger.send('422["flood","elsewhere",500,1000]')
        assert other_ack.result(timeout=10) == "432[500]"
        assert seen.result(timeout=10) == list(range(500))
        # The other room's flood went through while the slow client was still connected.
        assert "unread for" not in server.output()[logged_before:]
        assert "ping timeout" not in server.output()[logged_before:]
        assert stalled.result(timeout=20) == "431[2000]"  # the first flood resumes once the slow client is dropped
        slow.close()
    assert_still_serving(server)


def test_a_handler_that_raises_is_logged_and_the_connection_stays(server: ServerProcess) -> None:
    with sio_client(server) as ws:
        ws.send("40")  # already connected: ignored
        ws.send('427["explode"]')
        ws.send('428["echo","after"]')
        assert recv(ws) == '438["after"]'  # no ack for the failed event; the connection is fine
        sid_line = re.search(r"error in handler for event 'explode' \(sid (\S+), namespace /\)", server.output())
        deadline = time.monotonic() + 5
        while sid_line is None and time.monotonic() < deadline:
            time.sleep(0.05)
            sid_line = re.search(r"error in handler for event 'explode' \(sid (\S+), namespace /\)", server.output())
        assert sid_line is not None
        assert "RuntimeError: handler failed on purpose" in server.output()
