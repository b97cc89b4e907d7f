"""Publishes python-socketio's queue messages with whatever release of it runs this script.

    python psio_publisher.py URL CHANNEL

Run by tests/queue/test_python_socketio_releases.py in a venv of an older python-socketio:
a write-only queue manager (what Flask-SocketIO's ``SocketIO(message_queue=...)`` without an app
is) emits every shape of data and target, and asks every room operation, on CHANNEL.  It prints
one JSON line per step: the step's name, and "refused" with the error where this release cannot
publish it (5.14 cannot publish bytes; before 5.13 a write-only manager asks no room operation).  Kept to the API every 5.x release has.
"""

import json
import sys

import socketio

STEPS = [
    ("none", {"data": None}),
    ("text", {"data": "s"}),
    ("number", {"data": 1}),
    ("dict", {"data": {"a": 1}}),
    ("list", {"data": [1, "2"]}),
    ("list of one", {"data": ["only"]}),
    ("empty list", {"data": []}),
    ("tuple", {"data": (1, "2")}),
    ("tuple of one", {"data": ("only",)}),
    ("empty tuple", {"data": ()}),
    ("tuple of none", {"data": (None,)}),
    ("bytes", {"data": b"\x00\x01"}),
    ("bytes in a dict", {"data": {"b": b"\x02"}}),
    ("bytes in a tuple", {"data": (1, b"\x03", [b"\x04"])}),
    ("to a room", {"data": "r", "room": "room1"}),
    ("to rooms", {"data": "rs", "room": ["room1", "room2"]}),
    ("skip one", {"data": "k", "room": "room1", "skip_sid": "sid-a"}),
    ("skip several", {"data": "ks", "skip_sid": ["sid-a", "sid-b"]}),
    ("namespace", {"data": "n", "namespace": "/chat"}),
]


def main() -> None:
    url, channel = sys.argv[1], sys.argv[2]
    kind = socketio.KombuManager if url.startswith("amqp") else socketio.RedisManager
    manager = kind(url, channel=channel, write_only=True)

    def emit(step: dict) -> None:
        options = {k: v for k, v in step.items() if k != "data"}
        manager.emit(name, step["data"], namespace=options.pop("namespace", "/"), **options)

    steps = [(name, lambda step=step: emit(step)) for name, step in STEPS] + [
        ("enter_room", lambda: manager.enter_room("sid-a", "/", "room3")),
        ("leave_room", lambda: manager.leave_room("sid-a", "/", "room3")),
        ("close_room", lambda: manager.close_room("room1", "/")),
    ]
    for name, step in steps:
        try:
            step()
        except (TypeError, ValueError) as exc:  # bytes in JSON (5.14); a room operation of a write-only one
            print(json.dumps({"step": name, "refused": str(exc)}), flush=True)
            continue
        print(json.dumps({"step": name}), flush=True)


if __name__ == "__main__":
    main()
