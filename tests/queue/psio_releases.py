"""Real python-socketio releases as peers of the queue tests (a helper module, no tests).

:func:`published` runs tests/peers/psio_publisher.py with a release, in a venv of its own, and
returns the raw messages it put on a Redis channel; :func:`reference` is what the installed
python-socketio's own receiver (the oracle: Flask-SocketIO 5.7 runs on it) does with one, its
packets caught where it would send them.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
import socketio
from socketio.packet import Packet

from surge.queue.messages import Kind
from tests.conftest import PEERS

ROOT = Path(__file__).resolve().parents[2]
# 5.14.0 publishes data bare (a tuple as a JSON list) and no bytes; 5.15.0 and later wrap it in a
# list and flag bytes; 5.8.0 is one of the pickle releases.
RELEASES = ["5.8.0", "5.14.0", "5.15.0", "5.16.0"]


def release_python(version: str) -> str:
    """The Python of a venv holding python-socketio ``version`` (made once, kept under build/)."""
    if version == "installed":
        return sys.executable
    home = Path(os.environ.get("SURGE_PEER_VENVS", ROOT / "build" / "peer-venvs"))
    home.mkdir(parents=True, exist_ok=True)
    venv = home / f"python-socketio-{version}"
    python = venv / "bin" / "python"
    with (home / f"{version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the suite's workers may ask for one at once
        if not (venv / "ready").exists():
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
            pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            subprocess.run([*pip, f"python-socketio=={version}", "redis<6", "kombu"], check=True, timeout=300)
            (venv / "ready").touch()
    return str(python)


def published(version: str, redis_url: str) -> tuple[list[dict[str, Any]], list[bytes]]:
    """What ``version`` printed of its steps, and the raw messages it put on a fresh channel."""
    channel = "psio-release-" + secrets.token_hex(4)
    client = redis.Redis.from_url(redis_url)
    subscription = client.pubsub()
    subscription.subscribe(channel)
    try:
        while subscription.get_message(timeout=1) is None:  # the subscribe confirmation
            pass
        steps = publish(version, redis_url, channel)
        raw: list[bytes] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            message = subscription.get_message(timeout=0.2)
            if message is not None and message["type"] == "message":
                raw.append(message["data"])
                deadline = time.monotonic() + 0.5  # until the channel is quiet
    finally:
        subscription.close()
        client.close()
    return steps, raw


def publish(version: str, url: str, channel: str) -> list[dict[str, Any]]:
    """Run the publisher of ``version`` on ``channel`` of the queue at ``url``; the steps it printed."""
    run = subprocess.run(
        [release_python(version), str(PEERS / "psio_publisher.py"), url, channel],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return [json.loads(line) for line in run.stdout.splitlines()]


class _Sent:
    """The python-socketio server a probe manager sends through: it keeps the Engine.IO packets."""

    packet_class = Packet

    def __init__(self) -> None:
        self.packets: list[Any] = []

    def _send_eio_packet(self, eio_sid: str, eio_packet: Any) -> None:
        self.packets.append(eio_packet.data)


class _Recorder(socketio.Manager):
    """Below PubSubManager: what its receiver asks of the manager, with the packets an emit sends."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[Any, ...]] = []

    def get_participants(self, namespace: str, room: Any) -> Iterator[tuple[str, str]]:
        yield "a-client", "its-eio-sid"

    def emit(
        self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None, **kwargs: Any
    ) -> None:
        self.server.packets = []
        super().emit(event, data, namespace, room=room, skip_sid=None)
        skip = () if skip_sid is None else tuple(skip_sid) if isinstance(skip_sid, list) else (skip_sid,)
        rooms = None if room is None else tuple(room) if isinstance(room, list) else (room,)
        text, *attachments = self.server.packets
        self.seen.append((Kind.EMIT, namespace, text, tuple(attachments), rooms, skip))

    def enter_room(self, sid: str, namespace: str, room: str, eio_sid: str | None = None) -> None:
        self.seen.append((Kind.ENTER_ROOM, namespace, sid, room))

    def leave_room(self, sid: str, namespace: str, room: str) -> None:
        self.seen.append((Kind.LEAVE_ROOM, namespace, sid, room))

    def close_room(self, room: str, namespace: str) -> None:
        self.seen.append((Kind.CLOSE_ROOM, namespace, room))

    def is_connected(self, sid: str, namespace: str) -> bool:
        return True


class _Probe(socketio.PubSubManager, _Recorder):
    """python-socketio's queue receiver, over the recorder."""


def reference(raw: bytes) -> list[tuple[Any, ...]]:
    """What the installed python-socketio does for one raw message from the channel."""
    probe = _Probe()
    probe.server = _Sent()
    probe.rooms = {"/": {}, "/chat": {}}
    try:
        data = json.loads(raw)
    except ValueError:
        return []  # not JSON (a pickle): python-socketio's receiver skips it
    handler = getattr(probe, "_handle_" + data["method"])
    handler(data)
    return probe.seen


def delivered(text: str, attachments: tuple[bytes, ...]) -> list[Any]:
    """The event a packet of python-socketio's gives a JavaScript client: [event, *args], bytes as
    socket.io-client's Buffers print in JSON."""
    packet = Packet(encoded_packet=text)
    for attachment in attachments:
        packet.add_attachment(attachment)

    def as_js(value: Any) -> Any:
        if isinstance(value, bytes):
            return {"type": "Buffer", "data": list(value)}
        if isinstance(value, list):
            return [as_js(v) for v in value]
        if isinstance(value, dict):
            return {k: as_js(v) for k, v in value.items()}
        return value

    return as_js(packet.data)
