"""The members and rooms index of one namespace (server layer, no I/O).

Rooms map to the sockets in them, in join order; each socket also knows its
rooms, so leaving everything on disconnect costs only that socket's rooms.
Every member is in the room named by its sid (Socket.IO's personal room).
A member's rooms are listed in the order the rooms were created, as
python-socketio lists them (so its sid comes first, unless it joined rooms
that were there before it).

A personal room that holds only its member, as almost all do, has no entry of
its own: an idle connection costs a set and a dict less (460 bytes of RSS,
``make bench``'s memory scenario).  Once anything else happens to it (its member
leaves it, another member joins it, it is closed) it becomes an ordinary room.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Set
from typing import Generic, Protocol, TypeVar

NO_ROOMS: frozenset[str] = frozenset()  # a member's rooms until it joins one: no set of its own


class Member(Protocol):
    sid: str
    rooms: Set[str]  # the rooms it joined, its personal room only once that is an ordinary room
    since: int  # when it was added: its personal room's place in the order of rooms


M = TypeVar("M", bound=Member)


class Rooms(Generic[M]):
    """room name -> {sid: member}, and ``everyone``: sid -> member."""

    __slots__ = ("_clock", "_created", "_ordinary", "_rooms", "everyone")

    def __init__(self) -> None:
        self._rooms: dict[str, dict[str, M]] = {}
        self._created: dict[str, int] = {}  # room -> when it was created, for rooms_of's order
        self._clock = itertools.count()
        self._ordinary: set[str] = set()  # members whose personal room is an ordinary room
        self.everyone: dict[str, M] = {}

    def add(self, member: M) -> None:
        """A new member, in its personal room."""
        sid = member.sid
        self.everyone[sid] = member
        member.since = next(self._clock)
        if sid in self._rooms:  # a room of that name was made while its member was away (a recovered sid)
            self._ordinary.add(sid)
            self._enter(member, sid)

    def remove(self, member: M) -> None:
        """A member leaves the namespace and every room."""
        self.everyone.pop(member.sid, None)
        self._ordinary.discard(member.sid)
        for room in list(member.rooms):
            self._exit(member, room)

    def _personal(self, room: str) -> M | None:
        """The member of ``room`` if it is a personal room with no entry of its own."""
        return None if room in self._ordinary else self.everyone.get(room)

    def _make_ordinary(self, member: M) -> None:
        sid = member.sid
        self._ordinary.add(sid)
        self._rooms[sid] = {sid: member}
        self._created[sid] = member.since
        self._add_to(member, sid)

    def join(self, member: M, room: str) -> bool:
        """Put ``member`` in ``room``; whether it was not in it."""
        if room in member.rooms:
            return False  # a handler joining its room at every event: the case to make quick
        if room == member.sid:
            if room not in self._ordinary:
                return False
        else:
            owner = self._personal(room)
            if owner is not None:
                self._make_ordinary(owner)
        self._enter(member, room)
        return True

    def _enter(self, member: M, room: str) -> None:
        members = self._rooms.get(room)
        if members is None:
            members = self._rooms[room] = {}
            self._created[room] = next(self._clock)
        members[member.sid] = member
        self._add_to(member, room)

    @staticmethod
    def _add_to(member: M, room: str) -> None:
        rooms = member.rooms
        if isinstance(rooms, set):
            rooms.add(room)
        else:
            member.rooms = {room}

    def leave(self, member: M, room: str) -> bool:
        """Take ``member`` out of ``room``; whether it was in it."""
        if room == member.sid and room not in self._ordinary:
            self._make_ordinary(member)
        if room not in member.rooms:
            return False
        self._exit(member, room)
        return True

    def _exit(self, member: M, room: str) -> None:
        members = self._rooms.get(room)
        if members is not None:
            members.pop(member.sid, None)
            if not members:
                del self._rooms[room]
                del self._created[room]
        self._remove_from(member, room)

    @staticmethod
    def _remove_from(member: M, room: str) -> None:
        rooms = member.rooms
        if isinstance(rooms, set):
            rooms.discard(room)
            if not rooms:
                member.rooms = NO_ROOMS

    def is_in(self, member: M, room: str) -> bool:
        return room in member.rooms or (room == member.sid and room not in self._ordinary)

    def rooms_of(self, member: M) -> list[str]:
        """``member``'s rooms, oldest room first."""
        rooms = list(member.rooms)
        sid = member.sid
        if sid not in self._ordinary:
            rooms.append(sid)
        if len(rooms) == 1:
            return rooms
        created, since = self._created, member.since
        return sorted(rooms, key=lambda room: created.get(room, since))

    def close(self, room: str) -> list[M]:
        """Empty ``room``; returns who was in it."""
        owner = self._personal(room)
        if owner is not None:
            self._make_ordinary(owner)
        members = list(self._rooms.pop(room, {}).values())
        self._created.pop(room, None)
        for member in members:
            self._remove_from(member, room)
        return members

    def items(self) -> list[tuple[str, dict[str, M]]]:
        """Every room and its members ({sid: member}), oldest room first."""
        created = self._created
        rooms = [(created[room], room, members) for room, members in self._rooms.items()]
        rooms += [(m.since, sid, {sid: m}) for sid, m in self.everyone.items() if sid not in self._ordinary]
        rooms.sort(key=lambda entry: entry[0])
        return [(room, members) for _, room, members in rooms]

    def has_any(self, rooms: Iterable[str]) -> bool:
        """Whether any of ``rooms`` has a member (an empty room is not kept)."""
        known = self._rooms
        return any(room in known or self._personal(room) is not None for room in rooms)

    def members(self, rooms: Iterable[str], skip: Iterable[str] = ()) -> list[M]:
        """The members of any of ``rooms``, each once, without the sids in ``skip``."""
        rooms = list(rooms)
        skip = set(skip)
        if len(rooms) == 1:
            room = rooms[0]
            owner = self._personal(room)
            if owner is not None:
                return [] if room in skip else [owner]
            return [m for sid, m in self._rooms.get(room, {}).items() if sid not in skip]
        seen: dict[str, M] = {}
        for room in rooms:
            owner = self._personal(room)
            found = {room: owner} if owner is not None else self._rooms.get(room, {})
            for sid, member in found.items():
                if sid not in skip:
                    seen.setdefault(sid, member)
        return list(seen.values())
