"""Socket.IO packets, v4 and v5: text in, packets out, and back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from surge.protocol.errors import RemoteProtocolError
from surge.protocol.jsoncodec import loads as json_loads
from surge.protocol.sio import SioDecoder, SioPacket, SioType, _parse, ack_text, encode, encode_args, event_text


def decode(text: str, *attachments: bytes) -> SioPacket | None:
    decoder = SioDecoder(max_attachments=1000)
    packet = decoder.receive_text(text)
    for data in attachments:
        packet = decoder.receive_binary(data)
    return packet


@pytest.mark.parametrize(
    ("packet", "text"),
    [
        (SioPacket(SioType.CONNECT), "0"),
        (SioPacket(SioType.CONNECT, "/", {"token": "x"}), '0{"token":"x"}'),
        (SioPacket(SioType.CONNECT, "/admin", {"sid": "abc"}), '0/admin,{"sid":"abc"}'),
        (SioPacket(SioType.DISCONNECT, "/admin"), "1/admin,"),
        (SioPacket(SioType.EVENT, "/", ["hello", 1]), '2["hello",1]'),
        (SioPacket(SioType.EVENT, "/admin", ["project:delete", 123], 456), '2/admin,456["project:delete",123]'),
        (SioPacket(SioType.ACK, "/admin", [], 456), "3/admin,456[]"),
        (SioPacket(SioType.CONNECT_ERROR, "/", {"message": "Not authorized"}), '4{"message":"Not authorized"}'),
        (SioPacket(SioType.EVENT, "/", ["中文", "😀"]), '2["中文","😀"]'),
    ],
)
def test_text_packets(packet: SioPacket, text: str) -> None:
    assert encode(packet) == (text, [])
    assert decode(text) == packet


def test_binary_event_uses_placeholders() -> None:
    packet = SioPacket(SioType.EVENT, "/", ["hello", b"\x01\x02\x03"])
    text, attachments = encode(packet)
    assert text == '51-["hello",{"_placeholder":true,"num":0}]'
    assert attachments == [b"\x01\x02\x03"]
    got = decode(text, *attachments)
    assert got == SioPacket(SioType.BINARY_EVENT, "/", ["hello", b"\x01\x02\x03"])


def test_binary_ack_nested_in_objects() -> None:
    packet = SioPacket(SioType.ACK, "/admin", [{"a": [b"x", {"b": b"y"}]}], 7)
    text, attachments = encode(packet)
    assert text.startswith("62-/admin,7[")
    assert decode(text, *attachments) == SioPacket(SioType.BINARY_ACK, "/admin", [{"a": [b"x", {"b": b"y"}]}], 7)


def test_v4_namespace_query_is_split_off() -> None:
    packet = decode("0/chat?token=abc,")
    assert packet is not None and packet.namespace == "/chat" and packet.query == "token=abc"


def test_decoder_waits_for_every_attachment() -> None:
    decoder = SioDecoder()
    assert decoder.receive_text('52-["x",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]') is None
    assert decoder.receive_binary(b"a") is None
    assert decoder.receive_binary(b"b") == SioPacket(SioType.BINARY_EVENT, "/", ["x", b"a", b"b"])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "7",
        "2",
        "2{}",
        '2["connect"]',
        "2[1",
        "3{}",
        '1{"a":1}',
        '0["x"]',
        "4",
        '5x-["a"]',
        '511-["a"]',
        '21234567890123456["a"]',
        "2" + "[" * 100_000,
    ],
)
def test_invalid_packets_raise_remote_protocol_error(text: str) -> None:
    with pytest.raises(RemoteProtocolError):
        SioDecoder().receive_text(text)


def test_text_where_an_attachment_is_due_is_refused() -> None:
    decoder = SioDecoder()
    decoder.receive_text('51-["a",{"_placeholder":true,"num":0}]')
    with pytest.raises(RemoteProtocolError):
        decoder.receive_text('2["a"]')


def test_placeholder_must_be_an_integer_in_range() -> None:
    for num in ("true", "0.0", '"0"', "-1", "1"):  # 1: only attachment 0 exists
        decoder = SioDecoder()
        decoder.receive_text(f'51-["a",{{"_placeholder":true,"num":{num}}}]')
        with pytest.raises(RemoteProtocolError):
            decoder.receive_binary(b"x")


def test_unannounced_attachment_is_refused() -> None:
    with pytest.raises(RemoteProtocolError):
        SioDecoder().receive_binary(b"x")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=10,
)
with_binary = st.recursive(
    json_values | st.binary(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
namespaces = st.sampled_from(["/", "/chat", "/a/b"])
ack_ids = st.none() | st.integers(0, 10**12)


def round_trip(packet: SioPacket) -> SioPacket | None:
    text, attachments = encode(packet)
    return decode(text, *attachments)


@given(
    namespaces,
    st.text(min_size=1, max_size=10).filter(
        lambda e: e not in ("connect", "disconnect", "connect_error", "disconnecting", "newListener", "removeListener")
    ),
    st.lists(with_binary, max_size=4),
    ack_ids,
)
def test_event_round_trip(namespace: str, event: str, args: list[Any], ack_id: int | None) -> None:
    got = round_trip(SioPacket(SioType.EVENT, namespace, [event, *args], ack_id))
    assert got is not None
    assert got.namespace == namespace and got.id == ack_id and got.data == [event, *args]
    assert got.type in (SioType.EVENT, SioType.BINARY_EVENT)


@given(namespaces, st.lists(with_binary, max_size=4), st.integers(0, 10**12))
def test_ack_round_trip(namespace: str, args: list[Any], ack_id: int) -> None:
    got = round_trip(SioPacket(SioType.ACK, namespace, args, ack_id))
    assert got is not None and (got.namespace, got.id, got.data) == (namespace, ack_id, args)


@given(namespaces, st.none() | st.dictionaries(st.text(max_size=5), json_values, max_size=3))
def test_connect_round_trip(namespace: str, auth: dict[str, Any] | None) -> None:
    assert round_trip(SioPacket(SioType.CONNECT, namespace, auth)) == SioPacket(SioType.CONNECT, namespace, auth)


@given(namespaces)
def test_disconnect_round_trip(namespace: str) -> None:
    assert round_trip(SioPacket(SioType.DISCONNECT, namespace)) == SioPacket(SioType.DISCONNECT, namespace)


@given(namespaces, st.text(max_size=10) | st.fixed_dictionaries({"message": st.text(max_size=10)}))
def test_connect_error_round_trip(namespace: str, data: Any) -> None:
    assert round_trip(SioPacket(SioType.CONNECT_ERROR, namespace, data)) == SioPacket(
        SioType.CONNECT_ERROR, namespace, data
    )


@given(st.text(max_size=60), st.lists(st.binary(max_size=5), max_size=3))
def test_garbage_raises_only_remote_protocol_error(text: str, binaries: list[bytes]) -> None:
    decoder = SioDecoder()
    try:
        decoder.receive_text(text)
        for data in binaries:
            decoder.receive_binary(data)
    except RemoteProtocolError:
        pass


@given(st.text(alphabet='0123456789[]{}"/,-ab\u0661', max_size=25))
@example('["a"]')
@example('12["a",{"b":1}]')
@example("[1]")
@example('["connect"]')
@example("[]")
@example('\u0661["a"]')  # a digit int() reads, which the header's pattern does not take
@example('1-["a"]')
@example('/x,1["a"]')
@example('1234567890123456["a"]')
def test_the_event_fast_path_reads_what_the_general_parser_reads(tail: str) -> None:
    """Every text starting with ``2`` that the fast path takes gives the general parser's packet;
    what it leaves (another namespace, attachments, a bad payload) the general parser decides."""
    text = "2" + tail
    try:
        general: SioPacket | None = _parse(text, 10, json_loads)[0]
    except RemoteProtocolError:
        general = None
    try:
        got = SioDecoder().receive_text(text)
    except RemoteProtocolError:
        got = None
    assert got == general


@given(namespaces, st.lists(with_binary, max_size=4), st.integers(0, 10**12))
def test_encoded_args_make_the_packets_encode_writes(namespace: str, args: list[Any], ack_id: int) -> None:
    """An emit encodes its data once, at the call, and the packet around it is written later."""
    encoded = encode_args(["e", *args])
    assert (event_text(namespace, encoded, ack_id), encoded.attachments) == encode(
        SioPacket(SioType.EVENT, namespace, ["e", *args], ack_id)
    )
    encoded = encode_args(args)
    assert (ack_text(namespace, ack_id, encoded), encoded.attachments) == encode(
        SioPacket(SioType.ACK, namespace, args, ack_id)
    )


def test_data_that_is_not_json_is_refused_with_the_json_error() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        encode_args(["e", object()])
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        encode_args(["e", b"bytes are fine", {"but": object()}])


def test_nan_in_a_packet_is_read_as_python_socketio_reads_it() -> None:
    packet = SioDecoder().receive_text('2["a",NaN,-Infinity]')
    assert packet is not None
    assert packet.data[0] == "a" and packet.data[1] != packet.data[1] and packet.data[2] == float("-inf")
