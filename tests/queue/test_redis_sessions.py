"""The recovery sessions' store against a real Redis: claimed once, changed only by the process
the session names, kept for the window once lost, for longer while connected and renewed."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis

from surge.queue import redis_sessions
from surge.queue.redis_sessions import RedisSessions
from surge.server.recovery import Shared
from tests.conftest import free_port

WINDOW = 120.0


def run(redis_url: str, body: Callable[[Callable[[str], RedisSessions], redis.Redis], Awaitable[None]]) -> None:
    """``body(store_for_node, sync_client)`` on a loop, with stores on one channel of its own."""
    channel = "surge-test-" + secrets.token_hex(4)
    client = redis.Redis.from_url(redis_url)

    async def main() -> None:
        stores: list[RedisSessions] = []

        def store(node: str) -> RedisSessions:
            s = RedisSessions(redis_url, channel, node, WINDOW)
            s.start()
            stores.append(s)
            return s

        try:
            await body(store, client)
        finally:
            for s in stores:
                await s.close()

    try:
        asyncio.run(main())
    finally:
        for key in client.scan_iter(f"{channel}:*"):
            client.delete(key)
        client.close()


async def claim(store: RedisSessions, pid: str) -> Shared | None:
    answer: asyncio.Future[Shared | None] = asyncio.get_running_loop().create_future()
    store.claim(pid, answer.set_result)
    return await asyncio.wait_for(answer, 5)


async def settled(store: RedisSessions) -> None:
    """Until what the store was told is in Redis (a claim is queued after it)."""
    await claim(store, "nobody")


def shared(pid: str, node: str, rooms: list[str]) -> Shared:
    return Shared(pid, node, "sid-" + pid, "/", rooms, 1 << 40)


def test_a_session_is_claimed_once(redis_url: str) -> None:
    async def body(store: Callable[[str], RedisSessions], client: redis.Redis) -> None:
        a, b = store("a"), store("b")
        a.saved(shared("p1", "a", ["sid-p1"]))
        a.saved(shared("p1", "a", ["sid-p1", "r1"]))
        await settled(a)
        key = f"{a.prefix}p1"
        assert 0 < client.pttl(key) <= (WINDOW + redis_sessions.LIVE_MARGIN) * 1000
        assert await claim(b, "p1") == Shared("p1", "a", "sid-p1", "/", ["sid-p1", "r1"], 1 << 40, lost=False)
        assert await claim(a, "p1") is None
        assert not client.exists(key)

    run(redis_url, body)


def test_a_lost_session_is_kept_for_the_window(redis_url: str) -> None:
    async def body(store: Callable[[str], RedisSessions], client: redis.Redis) -> None:
        a = store("a")
        a.saved(shared("p1", "a", ["sid-p1"]))
        a.lost("p1")
        await settled(a)
        assert WINDOW * 1000 - 5000 < client.pttl(f"{a.prefix}p1") <= WINDOW * 1000
        found = await claim(a, "p1")
        assert found is not None and found.lost

    run(redis_url, body)


def test_only_the_process_it_names_changes_or_deletes_a_session(redis_url: str) -> None:
    async def body(store: Callable[[str], RedisSessions], client: redis.Redis) -> None:
        a, b = store("a"), store("b")
        a.saved(shared("p1", "a", ["sid-p1"]))
        await settled(a)
        assert await claim(b, "p1") is not None
        b.saved(shared("p1", "b", ["sid-p1", "r2"]))  # recovered on b
        await settled(b)
        # a learns late that its connection was lost, then that it ended, and it had a room change queued:
        a.saved(shared("p1", "a", ["sid-p1", "stale"]))
        a.lost("p1")
        a.ended("p1")
        await settled(a)
        assert await claim(a, "p1") == Shared("p1", "b", "sid-p1", "/", ["sid-p1", "r2"], 1 << 40, lost=False)

    run(redis_url, body)


def test_connected_sessions_are_renewed(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redis_sessions, "REFRESH", 0.2)

    async def body(store: Callable[[str], RedisSessions], client: redis.Redis) -> None:
        a = store("a")
        a.saved(shared("p1", "a", ["sid-p1"]))
        a.saved(shared("p2", "a", ["sid-p2"]))
        a.lost("p2")
        await settled(a)
        client.pexpire(f"{a.prefix}p1", 10_000)
        await asyncio.sleep(0.5)
        assert client.pttl(f"{a.prefix}p1") > 100_000  # renewed
        assert client.pttl(f"{a.prefix}p2") <= WINDOW * 1000  # lost: left to expire

    run(redis_url, body)


def test_without_redis_a_claim_is_answered_at_once_and_changes_wait(redis_url: str) -> None:
    dead = f"redis://127.0.0.1:{free_port()}"

    async def main() -> Any:
        store = RedisSessions(dead, "surge-test", "a", WINDOW)
        store.start()
        try:
            store.saved(shared("p1", "a", ["sid-p1"]))
            found = await claim(store, "p1")
            return found, [op[0] for op in store.ops]
        finally:
            await store.close()

    assert asyncio.run(main()) == (None, ["create"])
