"""An elastic worker-thread pool for sync handlers and WSGI requests (runtime layer).

Why not ``concurrent.futures.ThreadPoolExecutor``: its threads never retire,
and a handler that loops forever (``while True: emit(...); sleep(1)``) must
never starve the others.  This pool starts a thread whenever no idle one can
take the job, up to ``max_workers``, and a thread idle for ``idle_timeout``
seconds exits.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("surge.runtime")

Job = tuple[Callable[..., Any], tuple[Any, ...]]


class WorkerPool:
    """Runs ``fn(*args)`` in worker threads; ``submit`` never blocks."""

    def __init__(self, max_workers: int = 1000, idle_timeout: float = 30.0, name: str = "surge-worker") -> None:
        self.max_workers = max_workers
        self.idle_timeout = idle_timeout
        self._name = name
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads = 0
        self._count = 0

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
        """Jobs waiting for a thread (every thread busy and ``max_workers`` reached), about."""
        return max(0, self._jobs.qsize() - self._idle)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in a worker; exceptions are logged, never lost."""
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
            elif self._threads < self.max_workers:
                self._threads += 1
                self._count += 1
                threading.Thread(target=self._work, name=f"{self._name}-{self._count}", daemon=True).start()
            # else: every worker is busy and the cap is reached; the job waits its turn.
        self._jobs.put((fn, args))

    def shutdown(self) -> None:
        """Ask every thread to exit once the queued jobs are done."""
        with self._lock:
            threads = self._threads
        for _ in range(threads):
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.idle_timeout)
            except queue.Empty:
                with self._lock:
                    # Retire only if counted idle; a submit may have just claimed us.
                    if self._idle > 0:
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue
            if job is None:
                with self._lock:
                    self._threads -= 1
                return
            fn, args = job
            try:
                fn(*args)
            except Exception:
                log.exception("unhandled error in worker thread")
            with self._lock:
                self._idle += 1
