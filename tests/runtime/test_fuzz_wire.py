"""Fuzzing the wire layers in memory: arbitrary bytes into the HTTP and WebSocket parsing
of a real server object (fake transport, no sockets) never raise; at worst the
connection is answered with an error and closed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surge.runtime.server import HttpServer
from tests.runtime.wire import connection

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
requests = st.sampled_from(
    [
        b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\n\r\n",
        b"POST /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n4hi",
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        UPGRADE,
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=200) | requests, min_size=1, max_size=5))
def test_arbitrary_http_bytes_never_raise(server: HttpServer, chunks: list[bytes]) -> None:
    proto, transport = connection(server)
    for chunk in chunks:
        proto.data_received(chunk)
    assert not transport.written or transport.written.startswith(b"HTTP/1.1 ")
    proto.connection_lost(None)


def masked(payload: bytes, opcode: int = 1) -> bytes:
    return bytes([0x80 | opcode, 0x80 | len(payload), 0, 0, 0, 0]) + payload


frames = st.one_of(
    st.binary(max_size=60),
    st.builds(
        masked,
        st.sampled_from([b"2probe", b"3", b"40", b'42["x"]', b"5", b"1", b"4", b"\xff"]),
        st.sampled_from([1, 2, 8, 9]),
    ),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(frames, min_size=1, max_size=8))
def test_arbitrary_websocket_bytes_never_raise(server: HttpServer, chunks: list[bytes]) -> None:
    before = set(server.engine.sessions)
    proto, transport = connection(server)
    proto.data_received(UPGRADE)
    assert transport.written.startswith(b"HTTP/1.1 101 ")
    for chunk in chunks:
        proto.data_received(chunk)
    proto.connection_lost(None)
    assert set(server.engine.sessions) <= before  # a lost WebSocket leaves no session behind


def test_invalid_utf8_text_closes_with_1007(server: HttpServer) -> None:
    proto, transport = connection(server)
    proto.data_received(UPGRADE)
    transport.written.clear()
    proto.data_received(masked(b"4\xff\xfe"))
    assert transport.written[:4] == b"\x88\x0f\x03\xef"  # close frame, code 1007 (0x03ef)
    assert transport.closing
