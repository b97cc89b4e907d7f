"""Engine.IO packets and payloads, v3 and v4: bytes in, bytes out."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from surge.protocol.eio import (
    EioPacket,
    EioType,
    decode_payload,
    decode_ws_binary,
    decode_ws_text,
    encode_message_payload,
    encode_payload,
    encode_ws,
)
from surge.protocol.errors import RemoteProtocolError

M = EioType.MESSAGE


def test_v4_payload_joins_with_record_separator_and_base64s_binary() -> None:
    body, ctype = encode_payload([EioPacket(M, "hello"), EioPacket(M, b"\x01\x02\x03"), EioPacket(EioType.PING)], 4)
    assert body == b"4hello\x1ebAQID\x1e2"
    assert ctype == "text/plain; charset=UTF-8"
    assert decode_payload(b"4hello\x1ebAQID\x1e2", 4) == [
        EioPacket(M, "hello"),
        EioPacket(M, b"\x01\x02\x03"),
        EioPacket(EioType.PING),
    ]


@given(st.text())
def test_one_message_payload_is_the_general_encoding(data: str) -> None:
    assert encode_message_payload(data) == encode_payload([EioPacket(EioType.MESSAGE, data)], 4)[0]


def test_v3_string_payload_counts_utf16_units() -> None:
    # "4😀" is 3 UTF-16 code units in JavaScript: the emoji counts twice.
    body, ctype = encode_payload([EioPacket(M, "😀"), EioPacket(M, "é")], 3)
    assert body == "3:4😀2:4é".encode()
    assert ctype == "text/plain; charset=UTF-8"
    assert decode_payload("3:4😀2:4é".encode(), 3) == [EioPacket(M, "😀"), EioPacket(M, "é")]


def test_v3_b64_payload_uses_b4_prefix() -> None:
    body, _ = encode_payload([EioPacket(M, b"\x01\x02\x03")], 3, b64=True)
    assert body == b"6:b4AQID"
    assert decode_payload(b"6:b4AQID", 3) == [EioPacket(M, b"\x01\x02\x03")]


def test_v3_binary_payload_form() -> None:
    body, ctype = encode_payload([EioPacket(M, "hi"), EioPacket(M, b"\xff\x00")], 3)
    assert ctype == "application/octet-stream"
    assert body == b"\x00\x03\xff4hi" + b"\x01\x03\xff\x04\xff\x00"
    assert decode_payload(body, 3) == [EioPacket(M, "hi"), EioPacket(M, b"\xff\x00")]


def test_v3_binary_payload_length_of_ten_or_more() -> None:
    body, _ = encode_payload([EioPacket(M, b"x" * 12)], 3)
    assert body[:4] == b"\x01\x01\x03\xff"  # 13 bytes: digits 1, 3
    assert decode_payload(body, 3) == [EioPacket(M, b"x" * 12)]


def test_websocket_frames() -> None:
    assert encode_ws(EioPacket(M, "x"), 4) == "4x"
    assert encode_ws(EioPacket(M, b"\x01"), 4) == b"\x01"
    assert encode_ws(EioPacket(M, b"\x01"), 3) == b"\x04\x01"
    assert decode_ws_text("2probe") == EioPacket(EioType.PING, "probe")
    assert decode_ws_binary(b"\x04\x01", 3) == EioPacket(M, b"\x01")
    assert decode_ws_binary(b"\x04\x01", 4) == EioPacket(M, b"\x04\x01")


@pytest.mark.parametrize(
    ("body", "version"),
    [
        (b"", 4),
        (b"9x", 4),
        (b"b!!", 4),
        (b"\xff\xfe", 4),
        (b"5:4ab", 3),
        (b"x:4", 3),
        (b"2:b5AA", 3),
        (b"\x00\x05\xff4a", 3),
        (b"\x02\x01\xff4", 3),
        (b"0:", 3),
    ],
)
def test_bad_payloads_raise_remote_protocol_error(body: bytes, version: int) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_payload(body, version)


texts = st.text(max_size=40)
packets = st.one_of(
    st.builds(EioPacket, st.sampled_from(list(EioType)), texts),
    st.builds(EioPacket, st.just(M), st.binary(max_size=40)),
)


@given(st.lists(packets, min_size=1, max_size=6), st.sampled_from([(4, False), (3, False), (3, True)]))
def test_payload_round_trip(items: list[EioPacket], form: tuple[int, bool]) -> None:
    version, b64 = form
    if version == 4:
        # v4 cannot carry a record separator inside a text packet.
        items = [p for p in items if not (isinstance(p.data, str) and "\x1e" in p.data)] or [EioPacket(M, "x")]
    body, _ = encode_payload(items, version, b64=b64)
    assert decode_payload(body, version) == items


@given(st.binary(max_size=200), st.sampled_from([3, 4]))
@example(b"\x00", 3)  # no length separator: the compiled build once failed the slice to -1 with a SystemError
def test_garbage_payload_raises_only_remote_protocol_error(body: bytes, version: int) -> None:
    try:
        decode_payload(body, version)
    except RemoteProtocolError:
        pass


@given(st.text(max_size=50))
def test_garbage_ws_text_raises_only_remote_protocol_error(text: str) -> None:
    try:
        decode_ws_text(text)
    except RemoteProtocolError:
        pass
