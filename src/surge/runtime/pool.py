"""An elastic worker-thread pool for sync handlers and WSGI requests (runtime layer).

Why not ``concurrent.futures.ThreadPoolExecutor``: its threads never retire,
and a handler that loops forever (``while True: emit(...); sleep(1)``) must
never starve the others.

Jobs wait in one queue.  A worker that finishes a job takes the next one without
being woken, so a burst of short handlers runs on one thread in one turn of the
GIL (this pool used to start a thread for each job that found every worker
busy: 50 threads under a 50-client echo, for nothing a thread adds).  A
watchdog thread looks at the queue every ``STALL_CHECK`` seconds while jobs
wait: if none was taken since its last look, every worker is blocked in a job,
and it starts a thread for each waiting job.  So, below ``max_workers``, a
handler that blocks delays the events queued behind it by about two looks
(2 ms).  A thread idle for ``idle_timeout`` seconds exits.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("surge.runtime")

Job = tuple[Callable[..., Any], tuple[Any, ...]]

STALL_CHECK = 0.001  # seconds between the watchdog's looks at a queue with jobs waiting


def disfavor_wakeups() -> None:
    """Run the calling thread under Linux's SCHED_BATCH, where its wake-ups preempt nobody.

    A worker the loop thread wakes (a job for it) would otherwise preempt the loop at once, only
    to wait for the GIL the loop still holds: two more context switches per hand-off when they
    share a core (harness echo50 with def handlers, the server pinned to one CPU, interleaved,
    median of 3: 53.8k -> 61.0k acks/s).  The thread's share of the CPU is the same.
    """
    batch = getattr(os, "SCHED_BATCH", None)
    if batch is None:
        return
    try:
        if os.sched_getscheduler(0) == os.SCHED_OTHER:  # a real-time policy chosen by the app stays
            os.sched_setscheduler(0, batch, os.sched_param(0))
    except OSError:  # not allowed here (a sandbox): the default policy, only slower
        pass


class WorkerPool:
    """Runs ``fn(*args)`` in worker threads; ``submit`` never blocks."""

    def __init__(self, max_workers: int = 1000, idle_timeout: float = 30.0, name: str = "surge-worker") -> None:
        self.max_workers = max_workers
        self.idle_timeout = idle_timeout
        self._name = name
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # threads waiting for a job
        self._threads = 0
        self._count = 0
        self._taken = 0  # the watchdog's sign of progress (an increment lost to a race still moves it)
        self._waiting = threading.Event()  # set while jobs may wait behind busy workers
        self._watchdog: threading.Thread | None = None
        self._closed = False

    @property
    def size(self) -> int:
        """Threads alive now."""
        return self._threads

    @property
    def busy(self) -> int:
        """Threads running a job now."""
        return self._threads - self._idle

    @property
    def queued(self) -> int:
        """Jobs waiting for a thread (not about to be taken by an idle one), about."""
        return max(0, self._jobs.qsize() - self._idle)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in a worker; exceptions are logged, never lost."""
        self._jobs.put((fn, args))
        with self._lock:
            if self._threads == 0:
                self._start_threads(1)
                return
        # Even with a thread counted idle: it may have just taken another job that blocks.
        if not self._waiting.is_set():
            self._waiting.set()  # after the put: the watchdog clears, then looks at the queue
            if self._watchdog is None:
                self._start_watchdog()

    def shutdown(self) -> None:
        """Ask every thread to exit once the queued jobs are done."""
        with self._lock:
            self._closed = True
            threads = self._threads
        self._waiting.set()
        for _ in range(threads):
            self._jobs.put(None)

    def _start_threads(self, count: int) -> None:
        """Start up to ``count`` threads (the lock held)."""
        for _ in range(min(count, self.max_workers - self._threads)):
            self._threads += 1
            self._count += 1
            threading.Thread(target=self._work, name=f"{self._name}-{self._count}", daemon=True).start()

    def _start_watchdog(self) -> None:
        with self._lock:
            if self._watchdog is not None:
                return
            self._watchdog = threading.Thread(target=self._watch, name=f"{self._name}-watchdog", daemon=True)
        self._watchdog.start()

    def _watch(self) -> None:
        disfavor_wakeups()
        seen = -1
        while True:
            self._waiting.wait()
            time.sleep(STALL_CHECK)
            with self._lock:
                if self._closed:
                    return
                waiting = self._jobs.qsize() - self._idle
                if waiting > 0 and self._taken == seen:
                    self._start_threads(waiting)
                seen = self._taken
            self._waiting.clear()
            if not self._jobs.empty():
                self._waiting.set()

    def _next(self) -> Job | None:
        """The next job: at once while there are some, else after waiting for one (or retiring)."""
        try:
            return self._jobs.get_nowait()
        except queue.Empty:
            pass
        while True:
            with self._lock:
                self._idle += 1
            try:
                job = self._jobs.get(timeout=self.idle_timeout)
            except queue.Empty:
                with self._lock:
                    self._idle -= 1
                    if self._jobs.empty():  # nothing was put since: retire (a later submit starts one)
                        self._threads -= 1
                        raise
                continue
            with self._lock:
                self._idle -= 1
            return job

    def _work(self) -> None:
        disfavor_wakeups()
        while True:
            try:
                job = self._next()
            except queue.Empty:
                return
            if job is None:
                with self._lock:
                    self._threads -= 1
                return
            self._taken += 1
            fn, args = job
            try:
                fn(*args)
            except Exception:
                log.exception("unhandled error in worker thread")
