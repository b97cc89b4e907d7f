"""One loop timer for the heartbeat deadlines of every Engine.IO session (runtime layer).

A timer of its own per session costs about 660 bytes (uvloop's TimerHandle and
its libuv timer; measured with bench/connection_memory.py) and a timer heap
operation at every heartbeat.  Here a deadline goes into the bucket of the
``TICK`` it falls in, and the loop has one timer, for the earliest bucket: a
session costs a set entry, and a deadline is met at most ``TICK`` late, never
early.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

TICK = 0.001  # seconds: what a deadline may be late by (uvloop's own timers have a 1 ms resolution)


class Timed(Protocol):
    deadline_slot: int | None  # the bucket it is in (kept by Deadlines)


T = TypeVar("T", bound=Timed)


class Deadlines(Generic[T]):
    """``fire(item, now)`` once ``item``'s deadline has passed (``now`` is at or after it)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fire: Callable[[T, float], None], tick: float = TICK) -> None:
        self.loop = loop
        self.fire = fire
        self.tick = tick
        self.buckets: dict[int, set[T]] = {}
        self.slots: list[int] = []  # a heap of the buckets' slots (an emptied bucket's stays until popped)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_slot: int | None = None
        self._running = False  # firing: the timer is armed once, after

    def set(self, item: T, when: float) -> None:
        """(Re)set ``item``'s deadline."""
        slot = math.ceil(when / self.tick)
        old = item.deadline_slot
        if old == slot:
            return
        if old is not None:
            self._remove(item, old)
        bucket = self.buckets.get(slot)
        if bucket is None:
            bucket = self.buckets[slot] = set()
            heapq.heappush(self.slots, slot)
            if not self._running and (self._timer_slot is None or slot < self._timer_slot):
                self._arm(slot)
        bucket.add(item)
        item.deadline_slot = slot

    def when(self, item: T) -> float | None:
        """When ``item`` fires (None: it has no deadline)."""
        return None if item.deadline_slot is None else item.deadline_slot * self.tick

    def cancel(self, item: T) -> None:
        if item.deadline_slot is not None:
            self._remove(item, item.deadline_slot)
            item.deadline_slot = None

    def _remove(self, item: T, slot: int) -> None:
        bucket = self.buckets.get(slot)
        if bucket is not None:
            bucket.discard(item)
            if not bucket:
                del self.buckets[slot]

    def _arm(self, slot: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_slot = slot
        self._timer = self.loop.call_at(slot * self.tick, self._run)

    def _run(self) -> None:
        armed = self._timer_slot
        self._timer = self._timer_slot = None
        # A loop timer may fire a clock tick early: what it was armed for is due all the same.
        due = max(armed or 0, math.floor(self.loop.time() / self.tick))
        slots, buckets = self.slots, self.buckets
        self._running = True
        try:
            while slots and slots[0] <= due:
                slot = heapq.heappop(slots)
                bucket = buckets.pop(slot, None)
                if not bucket:
                    continue
                for item in bucket:
                    item.deadline_slot = None
                now = max(self.loop.time(), slot * self.tick)
                for item in bucket:
                    self.fire(item, now)
        finally:
            self._running = False
            while slots and slots[0] not in buckets:
                heapq.heappop(slots)
            if slots:
                self._arm(slots[0])
