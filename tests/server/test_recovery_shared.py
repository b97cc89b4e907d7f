"""Connection state recovery across processes in the server layer: two servers read one stream
(every event delivered to both at the same seq) and share a session store held in memory here
(the Redis one is tested against Redis in tests/queue/test_redis_sessions.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from surge.engine.constants import Reason
from surge.protocol.sio import SioPacket, SioType
from surge.server.core import SioServer
from surge.server.recovery import Recovery, Shared
from tests.server.pair import Conn, Recorder, client_packet, make_server
from tests.server.test_recovery import Clock, events


class Store:
    """The store's contract, in memory; claims wait until ``answer()`` (Redis answers later too)."""

    def __init__(self) -> None:
        self.sessions: dict[str, Shared] = {}
        self.claims: list[tuple[str, Callable[[Shared | None], None]]] = []

    def for_node(self, node: str) -> NodeStore:
        return NodeStore(self, node)

    def answer(self) -> None:
        claims, self.claims = self.claims, []
        for pid, done in claims:
            done(self.sessions.pop(pid, None))


class NodeStore:
    def __init__(self, store: Store, node: str) -> None:
        self.store, self.node = store, node

    def saved(self, shared: Shared) -> None:
        self.store.sessions[shared.pid] = shared

    def lost(self, pid: str) -> None:
        shared = self.store.sessions.get(pid)
        if shared is not None and shared.node == self.node:
            shared.lost = True

    def ended(self, pid: str) -> None:
        shared = self.store.sessions.get(pid)
        if shared is not None and shared.node == self.node:
            del self.store.sessions[pid]

    def claim(self, pid: str, done: Callable[[Shared | None], None]) -> None:
        self.store.claims.append((pid, done))


class Cluster:
    """Two processes, ``a`` and ``b``, on one stream and one store."""

    def __init__(self) -> None:
        self.store = Store()
        self.clock = Clock()
        self.seq = 1 << 40  # a stream's ids: large and not dense
        self.a, self.a_handlers = self._server("a")
        self.b, self.b_handlers = self._server("b")
        self.takeovers: list[tuple[str, Shared]] = []
        self.a.on_takeover = lambda shared: self.takeovers.append(("a", shared))
        self.b.on_takeover = lambda shared: self.takeovers.append(("b", shared))

    def _server(self, node: str) -> tuple[SioServer, Recorder]:
        server, handlers = make_server(recovery=Recovery(self.clock))
        server.store = self.store.for_node(node)
        server.node = node
        assert server.recovery is not None
        server.recovery.joined_stream_at(self.seq)
        return server, handlers

    def emit(self, event: str, arg: Any, to: str | None = None, skip: Iterable[str] = ()) -> None:
        """An event through the stream: both servers deliver it at its seq."""
        self.seq += 7
        for server in (self.a, self.b):
            server.deliver(server.encode_event("/", server.encode_args([event, arg])), "/", to, tuple(skip), self.seq)

    def lost_in_room(self) -> tuple[str, str, str]:
        """A client of ``a`` in room r1 that got one event, then lost its connection: sid, pid, offset."""
        conn = self.connect(self.a, "e1")
        sid, pid = sid_of(conn), pid_of(conn)
        self.a.enter_room(sid, "r1", "/")
        self.emit("seen", 1, to=sid)
        offset = str(conn.take()[-1].data[-1])
        self.a.engine_closed(conn, Reason.TRANSPORT_CLOSE)  # type: ignore[arg-type]
        return sid, pid, offset

    def connect(self, server: SioServer, eio_sid: str, auth: Any = None) -> Conn:
        conn = Conn(eio_sid)
        server.engine_connected(conn)  # type: ignore[arg-type]
        client_packet(server, conn, SioPacket(SioType.CONNECT, "/", auth))
        self.store.answer()
        return conn


def sid_of(conn: Conn) -> str:
    return str(conn.app_state.sockets["/"].sid)


def pid_of(conn: Conn) -> str:
    return str(conn.app_state.sockets["/"].pid)


def test_a_client_lost_on_one_process_recovers_on_the_other() -> None:
    c = Cluster()
    sid, pid, offset = c.lost_in_room()
    assert c.store.sessions[pid].lost and c.store.sessions[pid].rooms == [sid, "r1"]
    c.emit("missed", "to sid", to=sid)
    c.emit("missed", "to room", to="r1")
    c.emit("missed", "to all")
    c.emit("missed", "skipped", to="r1", skip=[sid])
    c.emit("missed", "other room", to="r2")
    back = c.connect(c.b, "e2", {"pid": pid, "offset": offset})
    sent = back.take()
    assert [p.type for p in sent] == [SioType.EVENT] * 3 + [SioType.CONNECT]
    assert [d[:2] for d in events(sent)] == [["missed", "to sid"], ["missed", "to room"], ["missed", "to all"]]
    assert sent[-1].data == {"sid": sid, "pid": pid}
    assert c.b.rooms(sid, "/") == [sid, "r1"]
    assert c.store.sessions[pid].node == "b" and not c.store.sessions[pid].lost  # b's now
    assert c.takeovers == []  # the first process knew it had lost it
    c.emit("after", "to room", to="r1")
    assert [d[:2] for d in events(back.take())] == [["after", "to room"]]


def test_the_connect_reply_waits_for_the_store() -> None:
    c = Cluster()
    conn = c.connect(c.a, "e1")
    auth = {"pid": pid_of(conn)}
    c.a.engine_closed(conn, Reason.TRANSPORT_CLOSE)  # type: ignore[arg-type]
    back = Conn("e2")
    c.b.engine_connected(back)  # type: ignore[arg-type]
    client_packet(c.b, back, SioPacket(SioType.CONNECT, "/", auth))
    client_packet(c.b, back, SioPacket(SioType.CONNECT, "/", auth))  # a second one meanwhile: ignored
    assert back.take() == [] and back.app_state.sockets == {}
    c.store.answer()
    assert [p.type for p in back.take()] == [SioType.CONNECT]
    assert len(c.store.claims) == 0 and back.app_state.sockets["/"].recovered


def test_a_client_gone_while_its_claim_waits_gets_nothing() -> None:
    c = Cluster()
    conn = c.connect(c.a, "e1")
    pid = pid_of(conn)
    c.a.engine_closed(conn, Reason.TRANSPORT_CLOSE)  # type: ignore[arg-type]
    back = Conn("e2")
    c.b.engine_connected(back)  # type: ignore[arg-type]
    client_packet(c.b, back, SioPacket(SioType.CONNECT, "/", {"pid": pid}))
    back.close_reason = Reason.TRANSPORT_CLOSE
    c.store.answer()
    assert back.take() == [] and c.b.sockets == {}


def test_a_session_whose_process_did_not_notice_the_loss_is_taken_over() -> None:
    c = Cluster()
    conn = c.connect(c.a, "e1")
    pid = pid_of(conn)
    back = c.connect(c.b, "e2", {"pid": pid})
    assert back.app_state.sockets["/"].recovered
    assert [(node, shared.node, shared.pid) for node, shared in c.takeovers] == [("b", "a", pid)]
    c.a.taken_over(pid)  # what the cluster's takeover message does on the first process
    assert conn.close_reason == Reason.TRANSPORT_CLOSE and c.a.sockets == {}
    assert c.store.sessions[pid].node == "b"  # the first process's disconnect did not delete b's session
    assert ("disconnect", sid_of(back), "transport close") in c.a_handlers.calls


def test_a_session_from_before_this_process_joined_the_stream_is_not_recovered() -> None:
    c = Cluster()
    conn = c.connect(c.a, "e1")
    sid, pid = sid_of(conn), pid_of(conn)
    c.emit("seen", 1)
    offset = conn.take()[-1].data[-1]
    c.a.engine_closed(conn, Reason.TRANSPORT_CLOSE)  # type: ignore[arg-type]
    late, _ = c._server("late")  # it began reading after the events the client may have missed
    c.emit("missed", 2)
    late.recovery.joined_stream_at(c.seq)  # type: ignore[union-attr]
    back = c.connect(late, "e2", {"pid": pid, "offset": offset})
    assert sid_of(back) != sid and not back.app_state.sockets["/"].recovered


def test_of_two_reconnects_with_one_pid_the_later_takes_the_session_from_the_earlier() -> None:
    c = Cluster()
    conn = c.connect(c.a, "e1")
    pid = pid_of(conn)
    c.a.engine_closed(conn, Reason.TRANSPORT_CLOSE)  # type: ignore[arg-type]
    first = c.connect(c.a, "e2", {"pid": pid})
    assert first.app_state.sockets["/"].recovered and c.takeovers == []
    second = c.connect(c.b, "e3", {"pid": pid})
    assert second.app_state.sockets["/"].recovered
    assert [(node, shared.node) for node, shared in c.takeovers] == [("b", "a")]


def test_a_session_the_store_no_longer_has_is_not_recovered() -> None:
    c = Cluster()
    conn = c.connect(c.a, "e1")
    pid = pid_of(conn)
    c.a.engine_closed(conn, Reason.TRANSPORT_CLOSE)  # type: ignore[arg-type]
    del c.store.sessions[pid]  # expired, or claimed by another process
    back = c.connect(c.a, "e2", {"pid": pid})  # though this process still remembers it
    assert not back.app_state.sockets["/"].recovered


def test_a_process_started_later_recovers_from_the_streams_past_it_read_at_its_start() -> None:
    c = Cluster()
    sid, pid, offset = c.lost_in_room()
    c.emit("missed", "to room", to="r1")
    c.emit("missed", "other room", to="r2")
    missed_at = c.seq
    late, _ = c._server("late")
    assert late.recovery is not None
    late.recovery.joined_stream_at(missed_at)
    text = late.encode_event("/", late.encode_args(["missed", "to room"])).text
    other = late.encode_event("/", late.encode_args(["missed", "other room"])).text
    late.recovery.backfill(
        [(text, (), "/", ("r1",), (), missed_at - 7, 3.0), (other, (), "/", ("r2",), (), missed_at, 2.0)],
        since=missed_at - 100,
    )
    back = c.connect(late, "e2", {"pid": pid, "offset": offset})
    assert sid_of(back) == sid
    assert [d[:2] for d in events(back.take())] == [["missed", "to room"]]
    assert late.recovery.seq == missed_at


def test_a_claim_answered_before_this_process_reads_the_stream_waits_for_it() -> None:
    c = Cluster()
    sid, pid, offset = c.lost_in_room()
    c.emit("missed", "to room", to="r1")
    late, _ = c._server("late")
    assert late.recovery is not None
    late.recovery.awaits_stream()  # started by its first request: the stream not read yet
    back = c.connect(late, "e2", {"pid": pid, "offset": offset})
    assert back.take() == [] and late.sockets == {}  # nothing decided from an empty log
    text = late.encode_event("/", late.encode_args(["missed", "to room"])).text
    late.recovery.joined_stream_at(c.seq)
    late.recovery.backfill([(text, (), "/", ("r1",), (), c.seq, 1.0)], since=c.seq - 100)
    late.stream_joined()
    sent = back.take()
    assert [p.type for p in sent] == [SioType.EVENT, SioType.CONNECT] and sid_of(back) == sid
