"""The rooms index against python-socketio's, operation by operation.

Surge keeps a personal room that holds only its member without an entry of its
own; python-socketio's ``BaseManager`` keeps every room as a plain mapping.  The
same random sequences of connects, joins, leaves, closes and disconnects go to
both, and after each step both must list the same rooms of every member in the
same order, and the same members of every room in the same order.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from socketio.base_manager import BaseManager

from surge.server.rooms import NO_ROOMS, Rooms

NS = "/"
SIDS = [f"s{i}" for i in range(4)]
NAMES = ["r0", "r1", *SIDS]  # sids among the room names: members may meet each other's personal rooms


class FakeMember:
    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.rooms: Any = NO_ROOMS
        self.since = 0


operation = st.one_of(
    st.tuples(st.just("connect"), st.sampled_from(SIDS)),
    st.tuples(st.just("disconnect"), st.sampled_from(SIDS)),
    st.tuples(st.just("join"), st.sampled_from(SIDS), st.sampled_from(NAMES)),
    st.tuples(st.just("leave"), st.sampled_from(SIDS), st.sampled_from(NAMES)),
    st.tuples(st.just("close"), st.sampled_from(NAMES)),
)


def run(operations: list[tuple[str, ...]], guarded: bool) -> None:
    """``guarded``: python-socketio's rule that nobody enters or closes another's personal room
    holds, and operations it refuses are not made; otherwise its plain index is the model of all."""
    ours: Rooms[FakeMember] = Rooms()
    theirs = BaseManager()
    if not guarded:
        theirs.is_sid_room = lambda namespace, room: False  # type: ignore[method-assign]
    members: dict[str, FakeMember] = {}
    for op in operations:
        kind, *rest = op
        if kind == "connect" and rest[0] not in members:
            sid = rest[0]
            members[sid] = FakeMember(sid)
            ours.add(members[sid])
            theirs.basic_enter_room(sid, NS, None, eio_sid=sid)
            theirs.basic_enter_room(sid, NS, sid, eio_sid=sid)
        elif kind == "disconnect" and rest[0] in members:
            ours.remove(members.pop(rest[0]))
            theirs.basic_disconnect(rest[0], NS)
        elif kind in ("join", "leave") and rest[0] in members:
            sid, room = rest
            if kind == "join":
                if guarded and room != sid and room in members:
                    continue  # python-socketio: "cannot enter a sid room"
                was_in = sid in theirs.rooms.get(NS, {}).get(room, {})
                assert ours.join(members[sid], room) is not was_in
                theirs.basic_enter_room(sid, NS, room)
            else:
                was_in = sid in theirs.rooms.get(NS, {}).get(room, {})
                assert ours.leave(members[sid], room) is was_in
                theirs.basic_leave_room(sid, NS, room)
        elif kind == "close":
            room = rest[0]
            if guarded and room in members:
                continue  # python-socketio: "cannot close a sid room"
            expected = [sid for sid, _ in theirs.get_participants(NS, room)]
            assert [m.sid for m in ours.close(room)] == expected
            theirs.basic_close_room(room, NS)
        compare(ours, theirs, members)


def compare(ours: Rooms[FakeMember], theirs: BaseManager, members: dict[str, FakeMember]) -> None:
    their_rooms = {room: list(m) for room, m in theirs.rooms.get(NS, {}).items() if room is not None}
    assert [(room, list(m)) for room, m in ours.items()] == list(their_rooms.items())
    for sid, member in members.items():
        assert ours.rooms_of(member) == theirs.get_rooms(sid, NS)
        assert all(ours.is_in(member, room) is (sid in their_rooms.get(room, ())) for room in NAMES)
    for room in NAMES:
        assert [m.sid for m in ours.members([room])] == their_rooms.get(room, [])
        assert ours.has_any([room]) is (room in their_rooms)
    both = [m.sid for m in ours.members(["r0", SIDS[0], "r1"], skip=[SIDS[1]])]
    expected = dict.fromkeys(s for r in ("r0", SIDS[0], "r1") for s in their_rooms.get(r, ()) if s != SIDS[1])
    assert both == list(expected)
    assert list(ours.everyone) == list(members)


@settings(max_examples=1000, deadline=None)
@given(st.lists(operation, max_size=40))
@example([("connect", "s0"), ("join", "s0", "r0"), ("connect", "s1"), ("join", "s1", "r0")])  # r0 is older than s1
def test_same_rooms_as_python_socketio(operations: list[tuple[str, ...]]) -> None:
    run(operations, guarded=True)


@settings(max_examples=1000, deadline=None)
@given(st.lists(operation, max_size=40))
def test_personal_rooms_entered_and_closed_as_any_room(operations: list[tuple[str, ...]]) -> None:
    """Surge, as Node's socket.io, lets a member join another's personal room and closes one when asked."""
    run(operations, guarded=False)


def test_an_idle_member_has_no_room_set_and_its_room_no_entry() -> None:
    rooms: Rooms[FakeMember] = Rooms()
    member = FakeMember("a")
    rooms.add(member)
    assert member.rooms is NO_ROOMS and rooms.rooms_of(member) == ["a"]
    assert [m.sid for m in rooms.members(["a"])] == ["a"]
    rooms.join(member, "r")
    rooms.leave(member, "r")
    assert member.rooms is NO_ROOMS
