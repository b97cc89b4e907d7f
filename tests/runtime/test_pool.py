"""The elastic worker pool: one queue, a watchdog that grows it when every worker is blocked, idle workers retire."""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest

from surge.runtime.pool import WorkerPool


def test_grows_so_a_blocked_job_never_starves_the_next() -> None:
    pool = WorkerPool(max_workers=10, idle_timeout=5)
    release = threading.Event()
    done = threading.Event()
    pool.submit(release.wait)
    pool.submit(done.set)
    assert done.wait(2)  # ran although the first job still blocks its thread
    assert pool.size == 2
    release.set()
    pool.shutdown()


def test_every_blocked_job_gets_a_thread_of_its_own() -> None:
    pool = WorkerPool(max_workers=10, idle_timeout=5)
    release = threading.Event()
    started = threading.Semaphore(0)

    def block() -> None:
        started.release()
        release.wait()

    for _ in range(6):
        pool.submit(block)
    assert all(started.acquire(timeout=2) for _ in range(6))
    assert pool.size == 6
    release.set()
    pool.shutdown()


def test_a_burst_of_short_jobs_runs_on_few_threads() -> None:
    pool = WorkerPool(max_workers=100, idle_timeout=5)
    threads: set[str] = set()
    done = threading.Semaphore(0)

    def job() -> None:
        threads.add(threading.current_thread().name)
        done.release()

    for _ in range(500):
        pool.submit(job)
    assert all(done.acquire(timeout=2) for _ in range(500))
    assert len(threads) < 10  # a thread per job, as a pool that grows on every busy submit does, would be 100
    pool.shutdown()


def test_bounded_by_max_workers() -> None:
    pool = WorkerPool(max_workers=2, idle_timeout=5)
    release = threading.Event()
    started = threading.Semaphore(0)

    def block() -> None:
        started.release()
        release.wait()

    for _ in range(3):
        pool.submit(block)
    assert started.acquire(timeout=2) and started.acquire(timeout=2)
    assert not started.acquire(timeout=0.3)  # the third waits for a free worker
    assert pool.size == 2
    release.set()
    assert started.acquire(timeout=2)
    pool.shutdown()


def test_idle_workers_retire() -> None:
    pool = WorkerPool(max_workers=4, idle_timeout=0.2)
    done = threading.Event()
    pool.submit(done.set)
    assert done.wait(2)
    deadline = time.monotonic() + 3
    while pool.size and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.size == 0


def test_a_failing_job_is_logged_and_the_worker_lives(caplog) -> None:  # type: ignore[no-untyped-def]
    pool = WorkerPool(max_workers=1, idle_timeout=5)
    done = threading.Event()

    def fail() -> None:
        raise ValueError("boom")

    pool.submit(fail)
    pool.submit(done.set)
    assert done.wait(2)
    assert "unhandled error in worker thread" in caplog.text
    pool.shutdown()


@pytest.mark.skipif(sys.platform != "linux", reason="SCHED_BATCH is Linux's")
def test_workers_run_under_sched_batch_where_linux_has_it() -> None:
    """Their wake-ups must not preempt the loop thread that woke them (surge.runtime.pool.disfavor_wakeups)."""
    pool = WorkerPool(max_workers=2, idle_timeout=5)
    seen: list[int] = []
    done = threading.Event()

    def policy() -> None:
        seen.append(os.sched_getscheduler(0))
        done.set()

    pool.submit(policy)
    assert done.wait(2)
    pool.shutdown()
    assert seen == [os.SCHED_BATCH]
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the thread that submits keeps its own
