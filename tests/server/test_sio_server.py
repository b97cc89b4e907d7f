"""The Socket.IO server layer in isolation: namespaces, rooms, emit routing and acks, bytes in and packets out."""

from __future__ import annotations

from typing import Any

from surge.engine.constants import Reason
from surge.protocol.sio import SioPacket, SioType
from tests.server.pair import Conn, client_packet, connected, make_server


def test_connect_replies_with_the_sid_and_events_reach_the_handlers() -> None:
    server, handlers = make_server()
    conn = Conn("e1")
    server.engine_connected(conn)  # type: ignore[arg-type]
    client_packet(server, conn, SioPacket(SioType.CONNECT, "/", {"token": "t"}))
    (reply,) = conn.take()
    socket = conn.app_state.sockets["/"]
    assert (reply.type, reply.data) == (SioType.CONNECT, {"sid": socket.sid})
    client_packet(server, conn, SioPacket(SioType.EVENT, "/", ["hello", 1, {"a": [2]}], 7))
    assert handlers.calls == [("connect", "/", {"token": "t"}), ("event", socket.sid, "hello", [1, {"a": [2]}], 7)]


def test_engine_io_v3_clients_are_in_the_default_namespace_at_once() -> None:
    server, handlers = make_server()
    _conn, socket = connected(server, "e1", "/", version=3)
    assert socket.namespace == "/" and handlers.calls == [("connect", "/", None)]


def test_an_unknown_namespace_gets_connect_error_and_a_refusal_its_data() -> None:
    server, handlers = make_server()
    conn = Conn("e1")
    server.engine_connected(conn)  # type: ignore[arg-type]
    client_packet(server, conn, SioPacket(SioType.CONNECT, "/nowhere", None))
    (error,) = conn.take()
    assert (error.type, error.namespace, error.data) == (
        SioType.CONNECT_ERROR,
        "/nowhere",
        {"message": "Invalid namespace"},
    )
    handlers.refuse["/chat"] = {"message": "go away", "data": {"code": 42}}
    client_packet(server, conn, SioPacket(SioType.CONNECT, "/chat", None))
    (refused,) = conn.take()
    assert (refused.type, refused.data) == (SioType.CONNECT_ERROR, {"message": "go away", "data": {"code": 42}})
    assert "/chat" not in conn.app_state.sockets and not server.sockets


def test_a_broadcast_is_encoded_once_for_every_member_of_a_room() -> None:
    server, _ = make_server()
    (a, sa), (b, sb), (c, _sc) = (connected(server, f"e{i}") for i in range(3))
    server.enter_room(sa.sid, "room", "/")
    server.enter_room(sb.sid, "room", "/")
    server.emit(server.encode_args(["news", "hi", 1]), "/", "room")
    assert a.outgoing[0] is b.outgoing[0] and not c.outgoing
    assert [(p.type, p.data) for p in a.take()] == [(SioType.EVENT, ["news", "hi", 1])]
    assert len(b.take()) == 1 and not c.take()
    server.emit(server.encode_args(["all"]), "/", None, skip_sids=[sb.sid])
    assert [len(x.take()) for x in (a, b, c)] == [1, 0, 1]


def test_rooms_are_listed_in_the_order_they_were_created() -> None:
    server, _ = make_server()
    (_, sa), (_, sb) = connected(server, "e1"), connected(server, "e2")
    server.enter_room(sb.sid, "y", "/")
    server.enter_room(sa.sid, "x", "/")
    server.enter_room(sa.sid, "y", "/")
    assert server.rooms(sa.sid, "/") == [sa.sid, "y", "x"]  # python-socketio's order: y existed first
    server.leave_room(sb.sid, "y", "/")
    server.close_room("y", "/")
    assert server.rooms(sa.sid, "/") == [sa.sid, "x"]
    server.enter_room(sa.sid, "y", "/")  # a new room "y", younger than "x"
    assert server.rooms(sa.sid, "/") == [sa.sid, "x", "y"]


def test_a_server_to_client_ack_comes_back_to_its_callback() -> None:
    server, _handlers = make_server()
    conn, socket = connected(server, "e1")
    answers: list[tuple[Any, ...]] = []
    server.emit(server.encode_args(["question", "q"]), "/", socket.sid, callback=lambda *args: answers.append(args))
    (question,) = conn.take()
    assert question.type is SioType.EVENT and question.id is not None
    client_packet(server, conn, SioPacket(SioType.ACK, "/", ["yes", 2], question.id))
    assert answers == [("yes", 2)]
    client_packet(server, conn, SioPacket(SioType.ACK, "/", ["again"], question.id))  # an ack is used once
    assert answers == [("yes", 2)]


def test_acks_to_the_client_and_what_a_disconnect_cancels() -> None:
    server, handlers = make_server()
    conn, socket = connected(server, "e1")
    server.send_ack(socket, 3, server.encode_args(["ok", {"n": 1}]))
    assert [(p.type, p.id, p.data) for p in conn.take()] == [(SioType.ACK, 3, ["ok", {"n": 1}])]

    class Waiter:
        cancelled = False

        def __call__(self, *args: Any) -> None:
            raise AssertionError("not answered")

        def cancel(self) -> None:
            self.cancelled = True

    waiter = Waiter()
    server.emit(server.encode_args(["question"]), "/", socket.sid, callback=waiter)
    client_packet(server, conn, SioPacket(SioType.DISCONNECT, "/"))
    assert waiter.cancelled and handlers.calls[-1] == ("disconnect", socket.sid, Reason.CLIENT_DISCONNECT)
    assert socket.sid not in server.sockets


def test_a_server_disconnect_tells_the_client_and_keeps_the_connection() -> None:
    """As Node's socket.io and python-socketio: the client may connect to a namespace on it again
    (the official clients close it themselves once no namespace is left)."""
    server, handlers = make_server()
    conn, socket = connected(server, "e1")
    client_packet(server, conn, SioPacket(SioType.CONNECT, "/chat", None))
    chat = conn.app_state.sockets["/chat"]
    conn.take()
    server.disconnect(socket.sid)
    assert [(p.type, p.namespace) for p in conn.take()] == [(SioType.DISCONNECT, "/")]
    assert handlers.calls[-1] == ("disconnect", socket.sid, Reason.SERVER_DISCONNECT)
    server.disconnect(chat.sid)
    assert [(p.type, p.namespace) for p in conn.take()] == [(SioType.DISCONNECT, "/chat")]
    assert conn.close_reason is None
    client_packet(server, conn, SioPacket(SioType.CONNECT, "/", None))
    assert [p.type for p in conn.take()] == [SioType.CONNECT]


def test_a_malformed_packet_closes_only_that_connection() -> None:
    server, _ = make_server()
    bad, _ = connected(server, "e1")
    good, socket = connected(server, "e2")
    server.engine_message(bad, '2{"not": "an array"}')  # type: ignore[arg-type]
    assert bad.close_reason == Reason.TRANSPORT_ERROR and good.close_reason is None
    server.emit(server.encode_args(["still"]), "/", socket.sid)
    assert len(good.take()) == 1


def test_emits_before_the_connect_reply_follow_it() -> None:
    server, handlers = make_server()
    conn = Conn("e1")
    server.engine_connected(conn)  # type: ignore[arg-type]
    handlers.refuse = {}
    original = handlers.handle_connect

    def emit_first(socket: Any, auth: Any) -> None:
        server.emit(server.encode_args(["welcome"]), "/", socket.sid)  # made in the connect handler
        original(socket, auth)

    handlers.handle_connect = emit_first  # type: ignore[method-assign]
    client_packet(server, conn, SioPacket(SioType.CONNECT, "/", None))
    assert [p.type for p in conn.take()] == [SioType.CONNECT, SioType.EVENT]
