"""Sequences of API operations drawn by hypothesis, run on Flask-SocketIO's test client and on Surge's.

The scripted scenarios of test_test_client.py find the differences someone thought of; this
finds the others.  A state machine draws what a test suite of an app does: clients connecting
to namespaces (with auth and query strings, some refused), events whose handlers emit, send,
join, leave and close rooms, write the session, disconnect, raise and answer (the actions of
tests/differential/acting_app.py), stray events for the catch-all, and emits and room closes
from outside any handler.  Each step runs on both libraries; what it returned (or raised) and
everything every client received since must be equal, sids written as the test's names for them.

``make test`` runs 100 sequences of up to 12 steps from a fixed seed (tests/conftest.py);
``make fuzz-compat`` runs many more at random (the ``long`` profile).
"""

from __future__ import annotations

import secrets
from types import ModuleType
from typing import Any

import flask_socketio
import pytest
from hypothesis import assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

import surge
from tests.differential.acting_app import NAMESPACES, build

MAX_CLIENTS = 4
ROOMS = ("a", "b")
EVENTS = ("news", "message", "json", "other")

scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=6)
values = st.recursive(
    scalars | st.binary(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
sid_names = st.integers(0, MAX_CLIENTS - 1).map(lambda i: f"sid:{i}")
targets = st.sampled_from(ROOMS) | sid_names
emit_options = st.fixed_dictionaries(
    {},
    optional={
        "to": targets | st.lists(targets, min_size=1, max_size=2),
        "room": targets,
        "include_self": st.booleans(),
        "skip_sid": sid_names | st.lists(sid_names, max_size=2),
        "broadcast": st.booleans(),
        "namespace": st.sampled_from(NAMESPACES),
        "tuple": st.booleans(),
    },
)
send_options = st.fixed_dictionaries(
    {}, optional={"to": targets, "include_self": st.booleans(), "json": st.booleans(), "skip_sid": sid_names}
)
data_for = st.lists(values, max_size=3)  # a list: with "tuple" it is several arguments


def records_in_the_test_client(emit: tuple[Any, ...]) -> bool:
    """Flask-SocketIO's test client fails (IndexError) on a "message" or "json" event with no argument,
    which Surge's records with ``args`` None (docs/compatibility.md): such emits are not drawn."""
    _, event, data, options = emit
    return event not in ("message", "json") or not options.get("tuple") or bool(data)


actions = st.one_of(
    st.tuples(st.just("emit"), st.sampled_from(EVENTS), data_for, emit_options).filter(records_in_the_test_client),
    st.tuples(st.just("server_emit"), st.sampled_from(EVENTS), data_for, emit_options).filter(
        records_in_the_test_client
    ),
    st.tuples(st.just("send"), values.filter(lambda v: v is not None), send_options),
    st.tuples(st.sampled_from(["join", "leave", "close"]), st.sampled_from(ROOMS)),
    st.tuples(st.just("rooms")),
    st.tuples(st.just("set"), st.sampled_from(["k", "auth"]), values),
    st.tuples(st.just("get"), st.sampled_from(["k", "auth"])),
    st.tuples(st.sampled_from(["disconnect", "raise"])),
    st.tuples(st.just("return"), values | st.lists(values, max_size=3), st.booleans()),
).map(list)
auths = st.none() | st.fixed_dictionaries(
    {}, optional={"refuse": st.booleans(), "raise": st.text(max_size=3), "greet": values, "x": values}
)


def attempt(call: Any) -> Any:
    """What a call returned, or the name of the exception it raised."""
    try:
        return call()
    except Exception as exc:
        return {"raises": type(exc).__name__}


class Side:
    """One library's app and the test's clients on it."""

    def __init__(self, lib: ModuleType, app: Any, socketio: Any) -> None:
        self.lib, self.app, self.socketio = lib, app, socketio
        self.clients: list[Any] = []

    def names(self) -> dict[str, str]:
        return {sid: f"sid:{i}{ns}" for (i, ns), sid in self.socketio.sids.items()}

    def normal(self, value: Any, names: dict[str, str] | None = None) -> Any:
        """``value`` with this side's sids written as the test's names for them."""
        names = self.names() if names is None else names
        if isinstance(value, str):
            return names.get(value, value)
        if isinstance(value, list | tuple):
            return [self.normal(v, names) for v in value]
        if isinstance(value, dict):
            return {k: self.normal(v, names) for k, v in value.items()}
        return value

    def learn_sid(self, index: int, namespace: str) -> None:
        client = self.clients[index]
        if client is not None and client.is_connected(namespace):
            self.socketio.sids[(index, namespace)] = client.emit("whoami", namespace=namespace, callback=True)

    def observe(self) -> Any:
        """What every client received since the last look, by namespace, and the disconnects seen."""
        seen: list[Any] = []
        for client in self.clients:
            by_namespace = {}
            for namespace in NAMESPACES:
                if client is not None and client.is_connected(namespace):
                    by_namespace[namespace] = client.get_received(namespace)
            seen.append(by_namespace)
        disconnects, self.socketio.disconnects[:] = list(self.socketio.disconnects), []
        return self.normal([seen, disconnects])

    def close(self) -> None:
        for client in self.clients:
            for namespace in NAMESPACES:
                if client is not None and client.is_connected(namespace):
                    attempt(lambda c=client, ns=namespace: c.disconnect(namespace=ns))
        self.socketio.sids.clear()
        self.socketio.disconnects[:] = []


SIDES: dict[str, tuple[Any, Any]] = {}


def side(lib: ModuleType) -> Side:
    """The library's app, built once per test run (each sequence makes clients of its own)."""
    if lib.__name__ not in SIDES:
        SIDES[lib.__name__] = build(lib)
    return Side(lib, *SIDES[lib.__name__])


class SameAsFlaskSocketIO(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sides = [side(flask_socketio), side(surge)]
        self.rooms = secrets.token_hex(3) + "-"  # this sequence's rooms: no other sequence's clients are in them

    def both(self, step: Any) -> None:
        """Run ``step(side)`` on each library: its result and what every client saw must be equal."""
        results = [s.normal(attempt(lambda s=s: step(s))) for s in self.sides]
        observed = [s.observe() for s in self.sides]
        assert results[1] == results[0], "the step's result differs (Surge, Flask-SocketIO)"
        assert observed[1] == observed[0], "what the clients received differs (Surge, Flask-SocketIO)"

    def room_names(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.room_names(v) for v in value]
        return self.rooms + value if value in ROOMS else value

    def prefixed(self, action: list[Any]) -> list[Any]:
        """``action`` with its rooms named for this sequence."""
        if action[0] in ("join", "leave", "close"):
            return [action[0], self.rooms + action[1]]
        if action[0] in ("emit", "server_emit", "send"):
            options = dict(action[-1])
            for key in ("to", "room"):
                if key in options:
                    options[key] = self.room_names(options[key])
            return [*action[:-1], options]
        return action

    def client(self, s: Side, index: int) -> Any:
        return s.clients[index % len(s.clients)]

    @initialize(namespace=st.sampled_from(NAMESPACES), auth=auths, query=st.sampled_from([None, "a=1", "a=1&a=2&b="]))
    def first_client(self, namespace: str, auth: Any, query: str | None) -> None:
        self.connect(namespace, auth, query)

    @precondition(lambda self: len(self.sides[0].clients) < MAX_CLIENTS)
    @rule(namespace=st.sampled_from(NAMESPACES), auth=auths, query=st.sampled_from([None, "a=1", "a=1&a=2&b="]))
    def connect(self, namespace: str, auth: Any, query: str | None) -> None:
        def step(s: Side) -> Any:
            index = len(s.clients)
            s.clients.append(None)
            client = s.socketio.test_client(s.app, namespace=namespace, auth=auth, query_string=query)
            s.clients[index] = client
            s.learn_sid(index, namespace)
            return client.is_connected(namespace)

        self.both(step)

    @precondition(lambda self: self.sides[0].clients)
    @rule(index=st.integers(0, MAX_CLIENTS - 1), namespace=st.sampled_from(NAMESPACES), auth=auths)
    def connect_namespace(self, index: int, namespace: str, auth: Any) -> None:
        def step(s: Side) -> Any:
            client = self.client(s, index)
            if client is None or client.is_connected(namespace):
                return "skipped"
            client.connect(namespace=namespace, auth=auth)
            s.learn_sid(s.clients.index(client), namespace)
            return client.is_connected(namespace)

        self.both(step)
        # Flask-SocketIO's test client gives the connection a new environ at each connect(), so the
        # managed session starts anew (its server does not; nor does Surge: docs/compatibility.md).
        # The session's keys are set to None on both, which reads as missing ones do.
        forget = [["set", "k", None], ["set", "auth", None]]
        for s in self.sides:
            client = self.client(s, index)
            for connected in NAMESPACES:
                if client is not None and client.is_connected(connected):
                    attempt(lambda c=client, ns=connected: c.emit("act", forget, namespace=ns))
            s.observe()

    @precondition(lambda self: self.sides[0].clients)
    @rule(index=st.integers(0, MAX_CLIENTS - 1), namespace=st.sampled_from(NAMESPACES))
    def disconnect(self, index: int, namespace: str) -> None:
        self.both(lambda s: self.client(s, index).disconnect(namespace=namespace))

    @precondition(lambda self: self.sides[0].clients)
    @rule(
        index=st.integers(0, MAX_CLIENTS - 1),
        namespace=st.sampled_from(NAMESPACES),
        acts=st.lists(actions, min_size=1, max_size=4),
        ack=st.booleans(),
    )
    def act(self, index: int, namespace: str, acts: list[list[Any]], ack: bool) -> None:
        acts = [self.prefixed(a) for a in acts]
        if ["disconnect"] in acts:
            # After its own disconnect() a handler's join_room raises ValueError in python-socketio and
            # is ignored by Surge (docs/compatibility.md): the disconnect is a handler's last action here.
            acts = acts[: acts.index(["disconnect"]) + 1]
        # A handler that disconnects its client: Flask-SocketIO still sends its answer, which the
        # client, gone from the namespace, ignores (its test client returns it); Surge sends none.
        ack = ack and ["disconnect"] not in acts
        self.both(lambda s: self.client(s, index).emit("act", acts, namespace=namespace, callback=ack))

    @precondition(lambda self: self.sides[0].clients)
    @rule(index=st.integers(0, MAX_CLIENTS - 1), acts=st.lists(actions, min_size=1, max_size=4), ack=st.booleans())
    def act_in_the_default_namespace(self, index: int, acts: list[list[Any]], ack: bool) -> None:
        """Most apps' events are in ``/``: drawn as often again."""
        self.act(index, "/", acts, ack)

    @precondition(lambda self: self.sides[0].clients)
    @rule(
        index=st.integers(0, MAX_CLIENTS - 1),
        event=st.sampled_from(EVENTS),
        args=st.lists(values, max_size=3),
        ack=st.booleans(),
    )
    def stray_event(self, index: int, event: str, args: list[Any], ack: bool) -> None:
        self.both(lambda s: self.client(s, index).emit(event, *args, callback=ack))

    @rule(event=st.sampled_from(EVENTS), data=data_for, options=emit_options)
    def emit_from_outside(self, event: str, data: list[Any], options: dict[str, Any]) -> None:
        """socketio.emit from the test itself, outside any handler."""
        assume(records_in_the_test_client(("emit", event, data, options)))
        options = self.prefixed(["emit", event, data, options])[-1]

        def step(s: Side) -> Any:
            given = dict(options)
            payload = tuple(data) if given.pop("tuple", False) else data
            for key in ("to", "room", "skip_sid"):
                if key in given:
                    given[key] = s.socketio.target(given[key], given.get("namespace", "/"))
            s.socketio.emit(event, payload, **given)

        self.both(step)

    @rule(room=st.sampled_from(ROOMS), namespace=st.sampled_from(NAMESPACES))
    def close_room_from_outside(self, room: str, namespace: str) -> None:
        self.both(lambda s: s.socketio.close_room(self.rooms + room, namespace=namespace))

    def teardown(self) -> None:
        for s in self.sides:
            s.close()


@pytest.mark.timeout(settings().max_examples * 3)  # seconds: 300 in make test, hours in make fuzz-compat
def test_drawn_sequences_behave_as_on_flask_socketio() -> None:
    run_state_machine_as_test(SameAsFlaskSocketIO, settings=settings(settings(), stateful_step_count=12, deadline=None))
