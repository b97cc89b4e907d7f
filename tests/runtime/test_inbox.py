"""Calls handed to the loop thread from other threads: all run there, in order, a batch per wake-up."""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import termios
import threading
from collections.abc import Iterator

import pytest

from surge.runtime.inbox import LoopInbox
from surge.runtime.server import new_event_loop


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def on_loop(loop: asyncio.AbstractEventLoop) -> LoopInbox:
    """An inbox made on the loop's thread, as the server makes it."""
    return asyncio.run_coroutine_threadsafe(_make(), loop).result(5)


async def _make() -> LoopInbox:
    return LoopInbox(asyncio.get_running_loop())


def unread_bytes(inbox: LoopInbox) -> int:
    pending = array.array("i", [0])
    fcntl.ioctl(inbox._read, termios.FIONREAD, pending)
    return pending[0]


def test_calls_from_many_threads_run_on_the_loop_thread_each_threads_in_order(loop: asyncio.AbstractEventLoop) -> None:
    inbox = on_loop(loop)
    seen: dict[int, list[int]] = {}
    threads_seen: set[int] = set()
    done = threading.Semaphore(0)

    def record(sender: int, n: int) -> None:
        threads_seen.add(threading.get_ident())
        seen.setdefault(sender, []).append(n)
        if n == 499:
            done.release()

    def send(sender: int) -> None:
        for n in range(500):
            inbox.put(record, (sender, n))

    senders = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for sender in senders:
        sender.start()
    assert all(done.acquire(timeout=5) for _ in senders)
    assert seen == {i: list(range(500)) for i in range(4)}
    assert len(threads_seen) == 1 and threads_seen != {threading.get_ident()}


def test_the_calls_put_while_the_loop_is_busy_run_in_one_batch(loop: asyncio.AbstractEventLoop) -> None:
    inbox = on_loop(loop)
    busy, release = threading.Event(), threading.Event()
    loop.call_soon_threadsafe(lambda: (busy.set(), release.wait(5)))
    assert busy.wait(5)
    ran: list[int] = []
    after_first: list[int] = []
    finished = threading.Event()

    def first() -> None:
        ran.append(0)
        loop.call_soon(lambda: (after_first.append(len(ran)), finished.set()))  # the loop's next turn

    inbox.put(first, ())
    for n in range(1, 100):
        inbox.put(ran.append, (n,))
    assert unread_bytes(inbox) == 1  # one wake-up written for the 100 calls
    release.set()
    assert finished.wait(5)
    assert after_first == [100]  # all 100 ran before the loop's next turn: one wake-up
    again = threading.Event()
    inbox.put(again.set, ())  # a call after the batch wakes the loop again
    assert again.wait(5)


def test_a_call_that_raises_is_logged_and_the_next_still_runs(
    loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = on_loop(loop)
    done = threading.Event()

    def fail() -> None:
        raise ValueError("boom")

    with caplog.at_level(logging.ERROR, logger="surge.runtime"):
        inbox.put(fail, ())
        inbox.put(done.set, ())
        assert done.wait(5)
    assert any("handed over to the event loop" in r.message and r.exc_info for r in caplog.records)
