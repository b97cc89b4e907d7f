"""The members and rooms index of one namespace (server layer, no I/O).

Rooms map to the sockets in them, in join order; each socket also knows its
rooms, so leaving everything on disconnect costs only that socket's rooms.
Every member is in the room named by its sid (Socket.IO's personal room).
A member's rooms are listed in the order the rooms were created, as
python-socketio lists them (so its sid comes first).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar


class Member(Protocol):
    sid: str
    rooms: set[str]


M = TypeVar("M", bound=Member)


class Rooms(Generic[M]):
    """room name -> {sid: member}, and ``everyone``: sid -> member."""

    __slots__ = ("_clock", "_created", "_rooms", "everyone")

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, M]] = {}
        self._created: dict[str, int] = {}  # room -> when it was created, for rooms_of's order
        self._clock = itertools.count()
        self.everyone: dict[str, M] = {}

    def add(self, member: M) -> None:
        """A new member, in its personal room."""
        self.everyone[member.sid] = member
        self.join(member, member.sid)

    def remove(self, member: M) -> None:
        """A member leaves the namespace and every room."""
        self.everyone.pop(member.sid, None)
        for room in list(member.rooms):
            self.leave(member, room)

    def join(self, member: M, room: str) -> None:
        members = self._rooms.get(room)
        if members is None:
            members = self._rooms[room] = {}
            self._created[room] = next(self._clock)
        members[member.sid] = member
        member.rooms.add(room)

    def rooms_of(self, member: M) -> list[str]:
        """``member``'s rooms, oldest room first."""
        return sorted(member.rooms, key=self._created.__getitem__)

    def leave(self, member: M, room: str) -> None:
        members = self._rooms.get(room)
        if members is not None:
            members.pop(member.sid, None)
            if not members:
                del self._rooms[room]
                del self._created[room]
        member.rooms.discard(room)

    def close(self, room: str) -> list[M]:
        """Empty ``room``; returns who was in it."""
        members = list(self._rooms.pop(room, {}).values())
        self._created.pop(room, None)
        for member in members:
            member.rooms.discard(room)
        return members

    def items(self) -> Iterable[tuple[str, dict[str, M]]]:
        """Every room and its members ({sid: member}), oldest room first."""
        return self._rooms.items()

    def has_any(self, rooms: Iterable[str]) -> bool:
        """Whether any of ``rooms`` has a member (an empty room is not kept)."""
        known = self._rooms
        return any(room in known for room in rooms)

    def members(self, rooms: Iterable[str], skip: Iterable[str] = ()) -> list[M]:
        """The members of any of ``rooms``, each once, without the sids in ``skip``."""
        rooms = list(rooms)
        skip = set(skip)
        if len(rooms) == 1:
            return [m for sid, m in self._rooms.get(rooms[0], {}).items() if sid not in skip]
        seen: dict[str, M] = {}
        for room in rooms:
            for sid, member in self._rooms.get(room, {}).items():
                if sid not in skip:
                    seen.setdefault(sid, member)
        return list(seen.values())
