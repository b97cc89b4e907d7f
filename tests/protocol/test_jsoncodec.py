"""Packet data is written and read as python-socketio writes and reads it: checked against its own encoder.

Surge writes with orjson where orjson writes what the standard library writes, and with the standard
library elsewhere; a generator of values, plain and not, checks that the choice never shows.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import json
import uuid
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from socketio import packet as reference

from surge.protocol import jsoncodec
from surge.protocol.sio import SioPacket, SioType, encode


class Colour(enum.Enum):
    RED = 1


class Size(enum.IntEnum):
    BIG = 2


class Label(str):
    pass


@dataclasses.dataclass
class Point:
    x: int


oddities = st.sampled_from(
    [
        float("nan"),
        float("inf"),
        -float("inf"),
        2**70,
        -(2**64),
        uuid.UUID(int=1),
        datetime.datetime(2020, 1, 2, 3, 4, 5),
        datetime.date(2020, 1, 2),
        Colour.RED,
        Size.BIG,
        Label("label"),
        Point(1),
        set(),
        frozenset(),
        object(),
        "\ud800",
        "é\u2028\x00",
        collections.OrderedDict(a=1),
        bytearray(b"ba"),
        memoryview(b"mv"),
    ]
)
scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=4) | oddities
)
keys = st.text(max_size=4) | st.integers(-5, 5) | st.sampled_from([None, True, 1.5, (1, 2)])
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.tuples(children, children) | st.dictionaries(keys, children, max_size=3)
    ),
    max_leaves=12,
)


def normal(text: str) -> str:
    """JSON text as the standard library writes it again: NaN kept, floats and escapes made one way."""
    return json.dumps(json.loads(text), separators=(",", ":"))


def split(text: str) -> tuple[str, str]:
    """A packet's head (type, attachment count, namespace, ack id) and its JSON data."""
    at = text.index("[")
    return text[:at], text[at:]


def reference_packet(ptype: int, namespace: str, data: list[Any], ack_id: int | None) -> tuple[str, list[bytes]]:
    encoded = reference.Packet(ptype, data=data, namespace=namespace, id=ack_id).encode()
    if isinstance(encoded, list):
        return encoded[0], encoded[1:]
    return encoded, []


@given(st.sampled_from(["/", "/chat"]), st.lists(values, max_size=3), st.none() | st.integers(0, 99))
def test_an_event_is_the_packet_python_socketio_writes(namespace: str, args: list[Any], ack_id: int | None) -> None:
    data = ["event", *args]
    try:
        expected = reference_packet(reference.EVENT, namespace, data, ack_id)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)) as ours:
            encode(SioPacket(SioType.EVENT, namespace, data, ack_id))
        assert str(ours.value) == str(exc)
        return
    text, attachments = encode(SioPacket(SioType.EVENT, namespace, data, ack_id))
    head, body = split(text)
    expected_head, expected_body = split(expected[0])
    assert (head, normal(body), attachments) == (expected_head, normal(expected_body), expected[1])


@given(values)
def test_dumps_writes_what_the_standard_library_writes(value: Any) -> None:
    try:
        expected = json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)) as ours:
            jsoncodec.dumps(value)
        assert str(ours.value) == str(exc)
        return
    assert normal(jsoncodec.dumps(value)) == normal(expected)


def test_a_value_refused_is_refused_with_the_standard_library_s_words() -> None:
    for value in (datetime.date(2020, 1, 2), uuid.UUID(int=1), Colour.RED, Point(1), {1, 2}):
        with pytest.raises(TypeError) as ours:
            jsoncodec.dumps(["e", value])
        with pytest.raises(TypeError) as theirs:
            json.dumps(["e", value])
        assert str(ours.value) == str(theirs.value)


def test_nan_and_infinity_are_written_and_read_as_python_socketio_does() -> None:
    assert jsoncodec.dumps([float("nan"), float("inf")]) == "[NaN,Infinity]"
    read = jsoncodec.loads('[NaN,-Infinity,"\\ud800"]')
    assert read[0] != read[0] and read[1] == -float("inf") and read[2] == "\ud800"


def test_deep_data_is_left_to_the_standard_library() -> None:
    deep: list[Any] = []
    for _ in range(200):
        deep = [deep]
    assert jsoncodec.dumps(deep) == json.dumps(deep)
