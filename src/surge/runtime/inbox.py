"""Calls other threads hand to the event loop's thread: run there in order, one wake-up per batch (runtime layer).

Why not ``loop.call_soon_threadsafe`` per call: it costs a system call per call, and uvloop's
wakes the loop while the calling thread still holds the GIL.  On a shared core the loop
thread, woken, preempts the worker only to wait for that GIL: two more context switches
per def handler's answer.  Here the wake-up is an ``os.write`` to a pipe, which releases
the GIL before the system call, so the woken loop finds it free (harness echo1, def
handlers, pure build, 6 interleaved runs each: median 10.56k -> 11.37k acks/s; per answer
the loop thread blocks twice, not three times).  Only the first call of a batch writes; the loop runs
every call queued by the time it reads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("surge.runtime")


def _close(*fds: int) -> None:
    for fd in fds:
        os.close(fd)


class LoopInbox:
    """A queue of calls for ``loop``'s thread that any thread may put to."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._calls: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False  # a wake-up is on its way: the calls put now will run with it
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        # Closed only when nothing can put here any more: no thread writes to a reused descriptor.
        # Not at exit, where daemon workers may still put (the process's end closes them).
        weakref.finalize(self, _close, self._read, self._write).atexit = False
        loop.add_reader(self._read, self._run)

    def put(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Have the loop run ``fn(*args)`` (from a thread other than the loop's)."""
        self._calls.append((fn, args))
        with self._lock:
            if self._scheduled:
                return
            self._scheduled = True
        os.write(self._write, b"\0")

    def _run(self) -> None:
        os.read(self._read, 64)  # the one byte of this batch's wake-up
        with self._lock:
            self._scheduled = False  # from here on, a new call wakes the loop again
        calls = self._calls
        while calls:
            fn, args = calls.popleft()
            try:
                fn(*args)
            except Exception:
                log.exception("error in %r handed over to the event loop", fn)
