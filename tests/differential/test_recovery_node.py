"""Connection state recovery against Node's socket.io: the official 4.x client sees the same session.

tests/peers/node_recovery_server.js is tests/apps/recovery_app.py written for
Node.  The client's connection is cut (its engine closed) after it joined a
room and got one event; while it is away the server emits to its sid, its
room, everyone, its room but it, and another room; it reconnects by itself.
Ids are compared as "the first one again" or "new", offsets as "<offset>" (a
string each server makes its own way).

One difference, on purpose: a client that had received no event before the
drop is recovered by Surge; Node's in-memory adapter cannot find the client's
(absent) offset and gives it a new session, the failure Node's users report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import APPS, ServerProcess, run_node
from tests.differential.node import NodeServer


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    node = NodeServer("node_recovery_server.js", {"maxDisconnectionDuration": 60000})
    surge = ServerProcess(APPS / "recovery_app.py")
    yield {"node": node.url, "surge": surge.url}
    node.stop()
    surge.stop()


def session(url: str, transports: list[str], before: bool) -> dict[str, Any]:
    result = run_node("recovery", url, 4, transports, before=before)
    assert "error" not in result, result
    for args in result["got"]:
        assert isinstance(args[-1], str), args  # the offset, handed to the listener as Node does
        args[-1] = "<offset>"
    first = result.pop("firstId")
    result["id"] = "the first one again" if result["id"] == first else "new"
    result["whoami"]["sid"] = "the first one again" if result["whoami"]["sid"] == first else "new"
    return result


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]], ids=["websocket", "polling"])
def test_a_recovered_session_is_the_same_as_on_node(urls: dict[str, str], transports: list[str]) -> None:
    node = session(urls["node"], transports, before=True)
    assert session(urls["surge"], transports, before=True) == node
    assert node == {
        "id": "the first one again",
        "recovered": True,
        "whoami": {"sid": "the first one again", "recovered": True},
        "got": [
            ["before", "the drop", "<offset>"],
            ["missed", "to sid", "<offset>"],
            ["missed", "to room", "<offset>"],
            ["missed", "to all", "<offset>"],
            ["now", "after the reconnect", "<offset>"],
        ],
    }


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]], ids=["websocket", "polling"])
def test_a_client_that_got_no_event_yet_is_recovered_where_node_cannot(
    urls: dict[str, str], transports: list[str]
) -> None:
    node = session(urls["node"], transports, before=False)
    assert (node["recovered"], node["id"], node["got"]) == (False, "new", [])
    surge = session(urls["surge"], transports, before=False)
    assert surge["recovered"] is True
    assert surge["id"] == "the first one again"
    assert [args[:2] for args in surge["got"]] == [
        ["missed", "to sid"],
        ["missed", "to room"],
        ["missed", "to all"],
        ["now", "after the reconnect"],
    ]
