"""The queue message schema: JSON only, versioned, and strict about what it accepts."""

from __future__ import annotations

import json
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surge.protocol.errors import RemoteProtocolError
from surge.queue.messages import KINDS, QueueMessage, decode, encode

names = st.text(max_size=8)
lists = st.tuples() | st.lists(names, max_size=3).map(tuple)
messages = st.one_of(
    st.builds(
        QueueMessage,
        st.just("emit"),
        names,
        names,
        packet=names,
        attachments=st.lists(st.binary(max_size=8), max_size=2).map(tuple),
        to=st.none() | lists,
        skip=lists,
        id=names,
    ),
    st.builds(
        QueueMessage,
        st.just("callback"),
        names,
        names,
        packet=names,
        attachments=st.lists(st.binary(max_size=8), max_size=2).map(tuple),
        id=names,
        target=names,
    ),
    st.builds(QueueMessage, st.sampled_from(["enter_room", "leave_room"]), names, names, sid=names, room=names),
    st.builds(QueueMessage, st.just("disconnect"), names, names, sid=names),
    st.builds(QueueMessage, st.just("close_room"), names, names, room=names),
    st.builds(
        QueueMessage, st.sampled_from(["sockets_join", "sockets_leave"]), names, names, to=st.none() | lists, room=names
    ),
    st.builds(QueueMessage, st.just("disconnect_sockets"), names, names, to=st.none() | lists),
    st.builds(QueueMessage, st.just("fetch"), names, names, to=st.none() | lists, id=names),
    st.builds(
        QueueMessage,
        st.just("fetched"),
        names,
        names,
        id=names,
        target=names,
        sockets=st.lists(st.fixed_dictionaries({"sid": names, "rooms": st.lists(names, max_size=2)}), max_size=2).map(
            tuple
        ),
    ),
)


@given(messages)
def test_round_trip(message: QueueMessage) -> None:
    assert decode(encode(message)) == message


def test_the_wire_form_is_documented_json() -> None:
    raw = encode(QueueMessage("emit", "n1", "/chat", '2["x",1]', (b"\x00",), ("room",), ("sid1",)))
    assert json.loads(raw) == {
        "v": 1,
        "kind": "emit",
        "node": "n1",
        "ns": "/chat",
        "packet": '2["x",1]',
        "bin": ["AA=="],
        "to": ["room"],
        "skip": ["sid1"],
    }
    assert set(KINDS) >= {"emit", "callback", "fetch", "fetched"}


@pytest.mark.parametrize(
    "raw",
    [
        pickle.dumps({"kind": "emit"}),
        b"not json",
        b"[]",
        b'{"v": 2, "kind": "emit", "node": "n", "ns": "/"}',
        b'{"v": 1, "kind": "exec", "node": "n", "ns": "/"}',
        b'{"v": 1, "kind": "emit", "node": "n", "ns": "/", "to": null}',
        b'{"v": 1, "kind": "emit", "node": "n", "ns": "/", "packet": "2[]", "bin": ["!!"], "to": null}',
        b'{"v": 1, "kind": "disconnect", "node": "n", "ns": "/", "sid": 5}',
        b'{"v": 1, "kind": "fetched", "node": "n", "ns": "/", "id": "x", "target": "t", "sockets": [{"rooms": []}]}',
    ],
)
def test_anything_else_is_refused(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        decode(raw)


@given(st.binary(max_size=200))
def test_garbage_raises_only_remote_protocol_error(raw: bytes) -> None:
    try:
        decode(raw)
    except RemoteProtocolError:
        pass
