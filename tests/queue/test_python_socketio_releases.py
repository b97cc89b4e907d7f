"""Queue messages published by real python-socketio releases, read as python-socketio 5.18 reads them.

Each release runs tests/peers/psio_publisher.py in a venv of its own, publishing every shape of
emit data and target and the room operations on a real Redis channel; the raw messages are then
read twice: by Surge (surge.queue.foreign) and by the installed python-socketio's own receiver
(the oracle: Flask-SocketIO 5.7 runs on it), whose packets are caught where it would send them.
The two must agree on every packet, attachment and target.  Releases before 5.14 publish pickle,
which neither loads.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from surge.queue import foreign
from surge.queue.messages import Kind, QueueMessage
from tests.queue.psio_releases import RELEASES, published, reference


def surge(raw: bytes) -> list[tuple[Any, ...]]:
    """What Surge does for it: the message it translates it to, as the recorder writes one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    message: QueueMessage | None = foreign.decode(data)
    assert message is not None
    if message.kind == Kind.EMIT:
        return [(Kind.EMIT, message.ns, message.packet, message.attachments, message.to, message.skip)]
    if message.kind == Kind.CLOSE_ROOM:
        return [(Kind.CLOSE_ROOM, message.ns, message.room)]
    return [(message.kind, message.ns, message.sid, message.room)]


@pytest.mark.parametrize("version", [*RELEASES, "installed"])
def test_every_message_of_a_release_is_read_as_python_socketio_reads_it(version: str, redis_url: str) -> None:
    steps, raw = published(version, redis_url)
    refused = [s["step"] for s in steps if "refused" in s]
    if version == "5.8.0":
        assert raw and all(r[:1] == b"\x80" for r in raw)  # pickles: read by neither
    else:
        assert set(refused) <= {"bytes", "bytes in a dict", "bytes in a tuple"}  # 5.14 (and 5.15: in a tuple)
        assert len(raw) == len(steps) - len(refused)
    for message in raw:
        assert surge(message) == reference(message), message
