"""The WebSocket channel's own parsing of plain data frames agrees with ``websockets``' parser.

The channel unmasks complete, unfragmented data frames itself and hands every other
frame to the ``websockets`` protocol.  A channel forced to hand everything over,
fed one frame at a time (so that frames are judged in order), is the reference:
for any stream of frames, valid or not, split anywhere, both must deliver the same
messages, write the same bytes and close alike.
"""

from __future__ import annotations

import struct
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from surge.runtime.websocket import WebSocketChannel

MAX_SIZE = 300


class FakeHttp:
    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False
        self.peer = ("127.0.0.1", 40000)

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.written += data

    def close(self) -> None:
        self.closed = True


class Recorder:
    """A channel's listener that writes down what it hears."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def on_message(self, data: str | bytes) -> None:
        self.events.append(data)

    def on_close(self) -> None:
        self.events.append("closed")


def channel(passthrough: bool) -> tuple[WebSocketChannel, FakeHttp, list[Any]]:
    http = FakeHttp()
    events: list[Any] = []
    ws = WebSocketChannel(http, MAX_SIZE, Recorder(events))
    ws._passthrough = passthrough
    return ws, http, events


def frame(fin: bool, rsv: int, opcode: int, masked: bool, payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    flag = 0x80 if masked else 0
    if n < 126:
        head += bytes([flag | n])
    elif n < 65536:
        head += bytes([flag | 126]) + struct.pack("!H", n)
    else:
        head += bytes([flag | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


payloads = st.one_of(
    st.sampled_from([b"", b'42["echo",1]', "é€😀".encode(), b"\xff\xfe", struct.pack("!H", 1000) + b"bye"]),
    st.binary(max_size=40),
    st.integers(min_value=100, max_value=MAX_SIZE + 50).map(lambda n: b"x" * n),
)
frames = st.builds(
    frame,
    fin=st.booleans() | st.just(True),
    rsv=st.sampled_from([0, 0, 0, 4, 1]),
    opcode=st.sampled_from([1, 1, 2, 0, 0, 8, 9, 10, 3]),
    masked=st.booleans() | st.just(True) | st.just(True),
    payload=payloads,
    mask=st.binary(min_size=4, max_size=4),
)


@settings(max_examples=500)
@given(st.lists(frames, min_size=1, max_size=8), st.lists(st.integers(min_value=0, max_value=2000), max_size=6))
def test_fast_path_agrees_with_the_protocol(stream_frames: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(stream_frames)
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    chunks = [stream[a:b] for a, b in pairwise(points)]
    fast, fast_http, fast_events = channel(passthrough=False)
    reference, reference_http, reference_events = channel(passthrough=True)
    for chunk in chunks:
        fast.data_received(chunk)
    for one_frame in stream_frames:
        reference.data_received(one_frame)
    assert fast_events == reference_events
    assert fast_http.written == reference_http.written
    assert fast_http.closed == reference_http.closed


def test_a_frame_split_byte_by_byte_arrives_once() -> None:
    ws, _, events = channel(passthrough=False)
    data = frame(True, 0, 1, True, b"x" * 200, b"abcd") + frame(True, 0, 2, True, b"\x00\x01", b"wxyz")
    for i in range(len(data)):
        ws.data_received(data[i : i + 1])
    assert events == ["x" * 200, b"\x00\x01"]
