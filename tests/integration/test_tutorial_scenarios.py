"""The tutorials' situations (DESIGN.md §1) with the official npm client against a real server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.conftest import APPS, ServerProcess, run_node

VERSIONS = [4, 2]


@pytest.fixture(scope="module")
def api_server() -> Iterator[ServerProcess]:
    server = ServerProcess(APPS / "api_app.py")
    yield server
    server.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_progress_steps_arrive_while_the_handler_runs(api_server: ServerProcess, version: int) -> None:
    result = run_node("progress", api_server.url, version)
    arrivals = result["arrivals"]
    assert [a["step"] for a in arrivals] == [1, 2, 3, 4, 5]
    # Each step reached the client while the handler was still sleeping towards the next one:
    # step k arrived at least (5 - k) * 0.3 s, less scheduling slack, before the handler returned.
    for a in arrivals:
        assert result["doneAt"] - a["at"] >= (5 - a["step"]) * 0.3 - 0.15, arrivals
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) > 0.15, gaps  # not a burst at the end


@pytest.mark.parametrize("version", VERSIONS)
def test_a_forever_handler_keeps_delivering_and_blocks_nobody(api_server: ServerProcess, version: int) -> None:
    result = run_node("forever", api_server.url, version, timeout=15000)
    assert max(result["latencies"]) < 100, result["latencies"]  # ms, the other client's echoes
    assert result["ticksAfter"] > result["ticksBefore"] >= 2


@pytest.mark.parametrize("version", VERSIONS)
def test_background_task_pushes_to_every_client_of_test_conn(api_server: ServerProcess, version: int) -> None:
    got = run_node("push", api_server.url, version)["got"]
    assert all(len(numbers) >= 3 for numbers in got), got
    assert all(numbers == sorted(numbers) for numbers in got)
    assert set(got[0][-2:]) & set(got[1]) & set(got[2])  # every client gets the same ticks
