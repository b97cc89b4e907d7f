"""Cluster routing in isolation: what goes to this process's clients and what is published for the others."""

from __future__ import annotations

from typing import Any

from surge.protocol import sio
from surge.protocol.sio import SioPacket, SioType
from surge.queue import messages
from surge.queue.messages import Kind, QueueMessage
from surge.server.cluster import Cluster
from surge.server.recovery import Recovery, Shared
from tests.server.pair import client_packet, connected, make_server


def make_cluster(queue: bool = True) -> tuple[Cluster, Any, list[QueueMessage]]:
    server, _ = make_server()
    published: list[QueueMessage] = []
    callbacks: list[tuple[Any, list[Any]]] = []
    cluster = Cluster(
        server,
        "node-a",
        (lambda raw: published.append(messages.decode(raw))) if queue else None,
        lambda callback, args: callbacks.append((callback, args)) or callback(*args),
    )
    return cluster, server, published


def test_without_a_queue_everything_is_local() -> None:
    cluster, server, published = make_cluster(queue=False)
    conn, socket = connected(server, "e1")
    cluster.emit(sio.encode_args(["news", "hi"]), "/", None, (), None)
    cluster.room_operation(Kind.ENTER_ROOM, "/", socket.sid, "r")
    assert [p.data for p in conn.take()] == [["news", "hi"]] and server.rooms(socket.sid, "/")[1:] == ["r"]
    assert not published


def test_a_room_emit_is_delivered_here_and_published_once_with_its_targets_readable() -> None:
    cluster, server, published = make_cluster()
    conn, socket = connected(server, "e1")
    server.enter_room(socket.sid, "r", "/")
    cluster.emit(sio.encode_args(["news", "hi", 1]), "/", "r", ["skipped-sid"], None)
    assert [p.data for p in conn.take()] == [["news", "hi", 1]]
    (message,) = published
    assert (message.kind, message.to, message.skip, message.ns) == (Kind.EMIT, ("r",), ("skipped-sid",), "/")
    assert sio.encode(SioPacket(SioType.EVENT, "/", ["news", "hi", 1]))[0] == message.packet  # encoded once, as sent


def test_an_emit_to_a_local_sid_stays_local() -> None:
    cluster, server, published = make_cluster()
    conn, socket = connected(server, "e1")
    cluster.emit(sio.encode_args(["private"]), "/", socket.sid, (), None)
    assert len(conn.take()) == 1 and not published


def test_messages_from_other_processes_reach_local_clients_and_their_acks_go_back() -> None:
    cluster, server, published = make_cluster()
    conn, socket = connected(server, "e1")
    text, _ = sio.encode(SioPacket(SioType.EVENT, "/", ["from-b", 2]))
    cluster.received(messages.encode(QueueMessage(Kind.EMIT, "node-b", "/", text, (), None, ())))
    assert [p.data for p in conn.take()] == [["from-b", 2]]
    # An emit with an ack from node-b to our client: the ack is published back to node-b.
    cluster.received(messages.encode(QueueMessage(Kind.EMIT, "node-b", "/", text, (), (socket.sid,), id="ack-1")))
    (question,) = conn.take()
    client_packet(server, conn, SioPacket(SioType.ACK, "/", ["answer"], question.id))
    (back,) = published
    assert (back.kind, back.target, back.id) == (Kind.CALLBACK, "node-b", "ack-1")


def test_our_own_messages_and_garbage_are_ignored() -> None:
    cluster, server, _published = make_cluster()
    conn, _ = connected(server, "e1")
    text, _ = sio.encode(SioPacket(SioType.EVENT, "/", ["echo"]))
    cluster.received(messages.encode(QueueMessage(Kind.EMIT, "node-a", "/", text, (), None, ())))
    cluster.received(b"\x80\x04garbage")
    assert not conn.take()


def ordered_cluster() -> tuple[Cluster, Any, list[bytes]]:
    """Connection state recovery over a stream: emits are delivered when they come back from it."""
    server, _ = make_server(recovery=Recovery(lambda: 0.0))
    raw: list[bytes] = []
    cluster = Cluster(server, "node-a", raw.append, lambda callback, args: callback(*args), ordered=True)
    return cluster, server, raw


def test_ordered_every_emit_waits_for_the_stream_and_carries_the_streams_place() -> None:
    cluster, server, raw = ordered_cluster()
    conn, socket = connected(server, "e1")
    cluster.emit(sio.encode_args(["private", "hi"]), "/", socket.sid, (), None)  # a local sid too
    cluster.emit(sio.encode_args(["news", 1]), "/", None, (), None)
    assert conn.take() == []
    cluster.received(raw[0], 5 << 24)  # our own messages, as the stream hands them back
    cluster.received(raw[1], 6 << 24 | 1)
    assert [p.data for p in conn.take()] == [["private", "hi", f"{5 << 24:x}"], ["news", 1, f"{6 << 24 | 1:x}"]]


def test_ordered_an_emit_asking_an_ack_of_a_local_client_goes_straight_to_it() -> None:
    cluster, server, raw = ordered_cluster()
    conn, socket = connected(server, "e1")
    cluster.emit(sio.encode_args(["asked"]), "/", socket.sid, (), lambda *args: None)
    assert [p.data for p in conn.take()] == [["asked"]] and raw == []


def test_ordered_a_takeover_names_the_process_whose_socket_is_stale() -> None:
    cluster, server, raw = ordered_cluster()
    assert server.on_takeover is not None
    server.on_takeover(Shared("pid-1", "node-b", "sid-1", "/", ["sid-1"], 0))
    message = messages.decode(raw[0])
    assert (message.kind, message.target, message.id) == (Kind.TAKEOVER, "node-b", "pid-1")
    conn, socket = connected(server, "e1")
    cluster.received(messages.encode(QueueMessage(Kind.TAKEOVER, "node-b", "/", id=str(socket.pid), target="node-a")))
    assert conn.close_reason is not None and server.sockets == {}
