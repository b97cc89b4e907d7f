"""Connection state recovery in the Socket.IO server layer, with fake connections and a fake clock."""

from __future__ import annotations

from typing import Any

from surge.engine.constants import Reason
from surge.protocol.sio import SioPacket, SioType
from surge.server.core import SioServer, SioSocket
from surge.server.recovery import ENTRY_OVERHEAD, Recovery, with_offset
from tests.server.pair import Conn, Recorder, client_packet, make_server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def recovering(**options: Any) -> tuple[SioServer, Recorder, Clock]:
    clock = Clock()
    server, handlers = make_server(recovery=Recovery(clock, **options))
    return server, handlers, clock


def connect(server: SioServer, eio_sid: str, auth: Any = None) -> tuple[Conn, SioSocket, list[SioPacket]]:
    conn = Conn(eio_sid)
    server.engine_connected(conn)  # type: ignore[arg-type]
    client_packet(server, conn, SioPacket(SioType.CONNECT, "/", auth))
    return conn, conn.app_state.sockets["/"], conn.take()


def events(packets: list[SioPacket]) -> list[list[Any]]:
    return [p.data for p in packets if p.type is SioType.EVENT]


def test_the_connect_reply_carries_a_pid_and_events_an_offset() -> None:
    server, _, _ = recovering()
    conn, socket, reply = connect(server, "e1")
    assert reply[0].data == {"sid": socket.sid, "pid": socket.pid}
    assert len(socket.pid or "") >= 20  # whoever has it takes the session over: unguessable
    server.emit(server.encode_args(["news", "a"]), "/")
    server.emit(server.encode_args(["asked", "b"]), "/", to=socket.sid, callback=lambda *a: None)
    assert [p.data for p in conn.take()] == [["news", "a", "1"], ["asked", "b"]]  # an ack asked: no offset


def test_protocol_v4_clients_get_no_pid_and_no_offsets() -> None:
    server, _, _ = recovering()
    old = Conn("e1", version=3)
    server.engine_connected(old)  # type: ignore[arg-type]
    modern, _, _ = connect(server, "e2")
    old.take()
    server.emit(server.encode_args(["news", "a"]), "/")
    assert events(old.take()) == [["news", "a"]]
    assert events(modern.take()) == [["news", "a", "1"]]


def lost(server: SioServer, conn: Conn) -> None:
    server.engine_closed(conn, Reason.TRANSPORT_CLOSE)  # type: ignore[arg-type]


def test_a_lost_client_gets_its_sid_rooms_and_missed_events_before_the_connect_reply() -> None:
    server, handlers, _ = recovering()
    conn, socket, _ = connect(server, "e1")
    other, other_socket, _ = connect(server, "e2")
    server.enter_room(socket.sid, "r1", "/")
    server.emit(server.encode_args(["seen", 1]), "/", to=socket.sid)
    offset = conn.take()[-1].data[-1]
    lost(server, conn)
    server.emit(server.encode_args(["missed", "to sid"]), "/", to=socket.sid)
    server.emit(server.encode_args(["missed", "to room"]), "/", to="r1")
    server.emit(server.encode_args(["missed", "to all"]), "/")
    server.emit(server.encode_args(["missed", "skipped"]), "/", to="r1", skip_sids=[socket.sid])
    server.emit(server.encode_args(["missed", "other room"]), "/", to="r2")
    server.emit(server.encode_args(["chat", "other namespace"]), "/chat")
    new_conn, new_socket, sent = connect(server, "e3", {"pid": socket.pid, "offset": offset, "token": "t"})
    assert (new_socket.sid, new_socket.pid, new_socket.recovered) == (socket.sid, socket.pid, True)
    assert server.rooms(new_socket.sid, "/") == [socket.sid, "r1"]
    assert [p.type for p in sent] == [SioType.EVENT] * 3 + [SioType.CONNECT]
    assert [d[:2] for d in events(sent)] == [["missed", "to sid"], ["missed", "to room"], ["missed", "to all"]]
    assert ("connect", "/", {"pid": socket.pid, "offset": offset, "token": "t"}) not in handlers.calls  # skipped
    assert ("disconnect", socket.sid, "transport close") in handlers.calls
    del other, other_socket, new_conn


def test_the_connect_handler_runs_for_a_recovered_client_when_not_skipped() -> None:
    server, handlers, _ = recovering(skip_connect_handler=False)
    conn, socket, _ = connect(server, "e1")
    lost(server, conn)
    auth = {"pid": socket.pid}
    _, again, sent = connect(server, "e2", auth)
    assert again.recovered and ("connect", "/", auth) in handlers.calls
    assert sent[-1].data == {"sid": socket.sid, "pid": socket.pid}


def test_a_client_back_before_its_old_connection_is_known_dead_takes_it_over() -> None:
    server, handlers, _ = recovering()
    conn, socket, _ = connect(server, "e1")
    server.emit(
        server.encode_args(["in flight", 1]), "/", to=socket.sid
    )  # sent, never received: the connection is dead
    conn.take()
    new_conn, again, sent = connect(server, "e2", {"pid": socket.pid})
    assert conn.close_reason == Reason.TRANSPORT_CLOSE
    assert ("disconnect", socket.sid, "transport close") in handlers.calls
    assert again.sid == socket.sid and [d[:2] for d in events(sent)] == [["in flight", 1]]
    del new_conn


def test_leaving_on_purpose_is_not_recovered() -> None:
    server, _, _ = recovering()
    conn, socket, _ = connect(server, "e1")
    client_packet(server, conn, SioPacket(SioType.DISCONNECT, "/"))
    _, again, _ = connect(server, "e2", {"pid": socket.pid})
    assert not again.recovered and again.sid != socket.sid
    conn, socket, _ = connect(server, "e3")
    server.disconnect(socket.sid)
    _, again, _ = connect(server, "e4", {"pid": socket.pid})
    assert not again.recovered


def test_after_the_window_the_session_is_gone() -> None:
    server, _, clock = recovering(max_disconnection_duration=10)
    conn, socket, _ = connect(server, "e1")
    lost(server, conn)
    clock.now += 11
    _, again, _ = connect(server, "e2", {"pid": socket.pid})
    assert not again.recovered


def test_an_idle_client_recovers_though_its_last_event_left_the_log() -> None:
    server, _, clock = recovering(max_disconnection_duration=10)
    conn, socket, _ = connect(server, "e1")
    server.emit(server.encode_args(["old", 1]), "/", to=socket.sid)
    offset = conn.take()[-1].data[-1]
    clock.now += 60
    server.emit(server.encode_args(["elsewhere", 2]), "/", to="nobody")  # the log moves on; the old event leaves it
    assert server.recovery is not None and server.recovery.evicted >= 1
    lost(server, conn)
    server.emit(server.encode_args(["missed", 3]), "/")
    _, again, sent = connect(server, "e2", {"pid": socket.pid, "offset": offset})
    assert again.recovered and [d[:2] for d in events(sent)] == [["missed", 3]]


def test_when_what_it_missed_left_the_log_it_gets_a_fresh_session() -> None:
    server, _, _ = recovering(max_buffer_size=3 * (ENTRY_OVERHEAD + 30))
    conn, socket, _ = connect(server, "e1")
    lost(server, conn)
    for n in range(10):
        server.emit(server.encode_args(["missed", n]), "/")
    _, again, _ = connect(server, "e2", {"pid": socket.pid})
    assert not again.recovered
    assert server.recovery is not None and server.recovery.size <= 3 * (ENTRY_OVERHEAD + 30)


def test_an_offset_it_was_never_sent_gets_a_fresh_session() -> None:
    for offset in ("zz", "ff", 7):
        server, _, _ = recovering()
        conn, socket, _ = connect(server, "e1")
        server.emit(server.encode_args(["seen", 1]), "/")
        lost(server, conn)
        _, again, _ = connect(server, "e2", {"pid": socket.pid, "offset": offset})
        assert not again.recovered, offset


def test_in_flight_events_are_replayed_from_the_offset_the_client_names() -> None:
    server, _, _ = recovering()
    conn, socket, _ = connect(server, "e1")
    for n in range(3):
        server.emit(server.encode_args(["e", n]), "/", to=socket.sid)
    first = conn.take()[0].data[-1]  # the client got the first only
    lost(server, conn)
    _, _, sent = connect(server, "e2", {"pid": socket.pid, "offset": first})
    assert [d[:2] for d in events(sent)] == [["e", 1], ["e", 2]]


def test_the_offset_goes_last_in_text_and_binary_packets() -> None:
    assert with_offset('2["a",1]', "f") == '2["a",1,"f"]'
    assert with_offset('51-/chat,["a",{"_placeholder":true,"num":0}]', "10") == (
        '51-/chat,["a",{"_placeholder":true,"num":0},"10"]'
    )
