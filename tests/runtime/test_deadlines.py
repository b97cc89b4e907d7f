"""One loop timer for every session's deadline: never early, at most a tick late, moved and
cancelled, and an item re-set while firing fires again (a real event loop)."""

from __future__ import annotations

import asyncio

from surge.runtime.deadlines import TICK, Deadlines


class Item:
    def __init__(self, name: str) -> None:
        self.name = name
        self.deadline_slot: int | None = None


def test_deadlines_fire_in_order_never_early_and_at_most_a_tick_late() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        fired: list[tuple[str, float, float]] = []
        deadlines: Deadlines[Item] = Deadlines(loop, lambda item, now: fired.append((item.name, now, loop.time())))
        start = loop.time()
        wanted = {"a": start + 0.03, "b": start + 0.01, "c": start + 0.01, "moved": start + 0.05, "gone": start + 0.02}
        items = {name: Item(name) for name in wanted}
        for name, when in wanted.items():
            deadlines.set(items[name], when)
        deadlines.set(items["moved"], start + 0.005)  # earlier than any: the one timer moves too
        wanted["moved"] = start + 0.005
        deadlines.cancel(items["gone"])
        await asyncio.sleep(0.1)
        assert sorted(name for name, _, _ in fired) == ["a", "b", "c", "moved"]
        assert fired[0][0] == "moved"
        for name, now, at in fired:
            assert now >= wanted[name]  # what the item is told: its deadline has passed
            assert at >= wanted[name] - 0.002  # the loop's own timer may fire a clock tick early
        assert deadlines.buckets == {} and deadlines.slots == []

    asyncio.run(main())


def test_an_item_set_again_while_it_fires_fires_again() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        times: list[float] = []
        item = Item("heartbeat")

        def fire(fired: Item, now: float) -> None:
            times.append(now)
            if len(times) < 3:
                deadlines.set(fired, now + 5 * TICK)

        deadlines: Deadlines[Item] = Deadlines(loop, fire)
        deadlines.set(item, loop.time())
        await asyncio.sleep(0.1)
        assert len(times) == 3 and times[1] - times[0] >= 5 * TICK
        assert deadlines.when(item) is None

    asyncio.run(main())
