"""Drawn client sessions over the network: the official socket.io-client 4.x against Flask-SocketIO and Surge.

The live variant of test_generated.py.  Hypothesis draws a whole session for
tests/peers/record.js: a few clients (namespace, auth, query string, WebSocket or polling),
each telling the app its place in the test, then events of the generator's app
(tests/differential/acting_app.py) whose handlers emit, send, join, leave and close rooms,
write the session and answer, and stray events for the catch-all.  Each session runs against
both servers, each in a process of its own; every client's recording (events, acks, connect
errors, disconnects, in order) must be equal, sids written as the clients' names.

Every event asks for an answer, so a step's handler and what it emitted are done before the
next step begins: the order of what each client sees is then the servers' to keep.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import ServerProcess, run_peer
from tests.differential.acting_app import NAMESPACES
from tests.differential.test_generated import EVENTS, ROOMS, actions, auths, values
from tests.differential.test_live import SERVE, connect_first

LIBS = ("flask_socketio", "surge")


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerProcess]]:
    started = {lib: ServerProcess(SERVE, {"DIFF_LIB": lib, "DIFF_APP": "acting"}) for lib in LIBS}
    yield started
    for server in started.values():
        server.stop()


clients = st.lists(
    st.fixed_dictionaries(
        {"namespace": st.sampled_from(NAMESPACES), "auth": auths, "query": st.sampled_from([None, {"a": "1"}])}
    ),
    min_size=1,
    max_size=3,
)
steps = st.lists(
    st.tuples(st.integers(0, 2), st.lists(actions, min_size=1, max_size=3))
    | st.tuples(st.integers(0, 2), st.sampled_from(EVENTS), st.lists(values, max_size=2)),
    min_size=1,
    max_size=6,
)


def session(drawn_clients: list[dict[str, Any]], drawn_steps: list[tuple[Any, ...]], tag: str) -> dict[str, Any]:
    """The record.js options for a drawn session: the room names carry ``tag`` (one run, one set of rooms)."""
    specs = []
    for i, spec in enumerate(drawn_clients):
        client: dict[str, Any] = {"name": f"c{i}", "namespace": "" if spec["namespace"] == "/" else spec["namespace"]}
        if spec["auth"]:
            client["auth"] = spec["auth"]
        if spec["query"]:
            client["query"] = spec["query"]
        client["listen"] = [*EVENTS, "welcome", "caught"]
        specs.append(client)
    script: list[dict[str, Any]] = [{"client": f"c{i}", "emit": ["whoami", i], "ack": True} for i in range(len(specs))]
    gone: set[int] = set()
    for step in drawn_steps:
        index = step[0] % len(specs)
        if index in gone:
            continue
        if len(step) == 2:
            acts = [rooms_tagged(a, tag) for a in step[1]]
            if ["disconnect"] in acts:
                acts = acts[: acts.index(["disconnect"]) + 1]  # its last action (docs/compatibility.md)
                gone.add(index)
            script.append({"client": f"c{index}", "emit": ["act", acts], "ack": ["disconnect"] not in acts})
        else:
            script.append({"client": f"c{index}", "emit": [step[1], *step[2]], "ack": True})
    return as_json({"clients": specs, "steps": script, "ackTimeout": 1000, "settle": 500})


def as_json(value: Any) -> Any:
    """``value`` with bytes written as record.js reads them back into Buffers."""
    if isinstance(value, bytes):
        return {"$bytes": list(value)}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    return value


def finite(value: Any) -> bool:
    """Whether ``value`` has no infinity, which JSON (and so Node, reading the session) has not."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(finite(v) for v in value)
    if isinstance(value, dict):
        return all(finite(v) for v in value.values())
    return True


def rooms_tagged(action: list[Any], tag: str) -> list[Any]:
    def room(value: Any) -> Any:
        if isinstance(value, list):
            return [room(v) for v in value]
        return tag + value if value in ROOMS else value

    if action[0] in ("join", "leave", "close"):
        return [action[0], tag + action[1]]
    if action[0] in ("emit", "server_emit", "send"):
        options = {k: room(v) if k in ("to", "room") else v for k, v in action[-1].items()}
        return [*action[:-1], options]
    return action


def recording(server: ServerProcess, options: dict[str, Any], transports: list[str] | None) -> Any:
    result = run_peer("record.js", {"url": server.url, "version": 4, "transports": transports, **options})
    assert "error" not in result, result
    seen = result["seen"]
    names: dict[str, str] = {}
    for name, entries in seen.items():
        for entry in entries:
            if entry[:2] == ["ack", "whoami"]:
                names[entry[2][0]] = f"sid of {name}"
    return normal(seen, names)


def normal(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [normal(v, names) for v in value]
    if isinstance(value, dict):
        return {k: normal(v, names) for k, v in value.items()}
    return value


@pytest.mark.timeout(settings().max_examples * 3)  # seconds: 300 in make test, hours in make fuzz-compat
# An eighth of the profile's examples (12 in make test): each runs two Node clients and takes seconds.
@settings(
    max_examples=max(1, settings().max_examples // 8),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn_clients=clients, drawn_steps=steps, polling=st.booleans())
def test_drawn_sessions_look_the_same_to_the_official_client(
    servers: dict[str, ServerProcess], drawn_clients: list[dict[str, Any]], drawn_steps: list[Any], polling: bool
) -> None:
    assume(finite([drawn_clients, drawn_steps]))
    options = session(drawn_clients, drawn_steps, secrets.token_hex(3) + "-")
    transports = ["polling"] if polling else None
    expected = connect_first(recording(servers["flask_socketio"], options, transports))  # a difference kept
    assert recording(servers["surge"], options, transports) == expected
