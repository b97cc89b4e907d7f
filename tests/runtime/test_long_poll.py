"""Long-polling GETs on a keep-alive connection: what a waiting poll leaves behind, and a poll whose client goes away."""

from __future__ import annotations

import json

from surge.runtime.server import HttpServer
from tests.runtime.wire import connection


def get(sid: str | None = None) -> bytes:
    query = "EIO=4&transport=polling" + (f"&sid={sid}" if sid else "")
    return f"GET /socket.io/?{query} HTTP/1.1\r\nHost: a\r\n\r\n".encode()


def post(sid: str, body: str) -> bytes:
    data = body.encode()
    head = (
        f"POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\nContent-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


def test_answered_polls_leave_nothing_on_the_connection(server: HttpServer) -> None:
    getter, get_transport = connection(server)
    poster, _ = connection(server)
    getter.data_received(get())
    sid = json.loads(bytes(get_transport.written).split(b"\r\n\r\n", 1)[1][1:])["sid"]
    for n in range(50):
        get_transport.written.clear()
        getter.data_received(get(sid))  # waits: nothing to send yet
        assert not get_transport.written
        poster.data_received(post(sid, f"4hello {n}"))  # the echo app answers it
        assert get_transport.written.endswith(f"4hello {n}".encode())
    # Each waiting poll registered a callback for a lost connection; the answered ones are gone.
    assert getter._on_lost is None
    getter.connection_lost(None)
    poster.connection_lost(None)


def test_a_poll_whose_connection_is_lost_closes_the_session(server: HttpServer) -> None:
    # Node's engine.io: a GET the client gave up on ends the session ("poll connection closed prematurely").
    first, first_transport = connection(server)
    first.data_received(get())
    sid = json.loads(bytes(first_transport.written).split(b"\r\n\r\n", 1)[1][1:])["sid"]
    first_transport.written.clear()
    first.data_received(get(sid))
    assert not first_transport.written  # waiting
    first.connection_lost(None)
    assert sid not in server.engine.sessions
    second, second_transport = connection(server)
    second.data_received(get(sid))
    assert second_transport.written.startswith(b"HTTP/1.1 400 ")
    assert second_transport.written.endswith(b'{"code":1,"message":"Session ID unknown"}')
    second.connection_lost(None)
