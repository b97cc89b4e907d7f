"""The members and rooms index of one namespace (server layer, no I/O).

Rooms map to the sockets in them, in join order; each socket also knows its
rooms, so leaving everything on disconnect costs only that socket's rooms.
Every member is in the room named by its sid (Socket.IO's personal room).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, Protocol, TypeVar


class Member(Protocol):
    sid: str
    rooms: set[str]


M = TypeVar("M", bound=Member)


class Rooms(Generic[M]):
    """room name -> {sid: member}, and ``everyone``: sid -> member."""

    __slots__ = ("_rooms", "everyone")

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, M]] = {}
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
        self._rooms.setdefault(room, {})[member.sid] = member
        member.rooms.add(room)

    def leave(self, member: M, room: str) -> None:
        members = self._rooms.get(room)
        if members is not None:
            members.pop(member.sid, None)
            if not members:
                del self._rooms[room]
        member.rooms.discard(room)

    def close(self, room: str) -> list[M]:
        """Empty ``room``; returns who was in it."""
        members = list(self._rooms.pop(room, {}).values())
        for member in members:
            member.rooms.discard(room)
        return members

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
