"""Scripted client sessions for ``tests/peers/record.js``, run against Flask-SocketIO and Surge alike.

Each script is ``(versions, build)``: the socket.io-client major versions it
applies to, and a function returning the peer's options (clients, steps).  It
takes a tag unique to the run, for room names, so that no room is left over
from the previous run on the same server.  ``wait`` steps count every record a
client made, its ``connect`` included, so each script says when the expected
events are in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Script = dict[str, Any]
ALL = (4, 2, 1)
SCRIPTS: dict[str, tuple[tuple[int, ...], Callable[[str], Script]]] = {}


def script(*versions: int) -> Callable[[Callable[[str], Script]], Callable[[str], Script]]:
    def register(fn: Callable[[str], Script]) -> Callable[[str], Script]:
        SCRIPTS[fn.__name__] = (versions or ALL, fn)
        return fn

    return register


FORMS = ["tuple", "list", "nothing", "none", "dict", "single", "empty", "binary", "message", "json"]


@script()
def emit_and_send_forms(tag: str) -> Script:
    listen = [*FORMS, "server_tuple", "forwarded"]
    return {
        "clients": [{"name": "a", "listen": listen}],
        "steps": [
            {"client": "a", "emit": ["emit_forms"]},
            {"client": "a", "wait": 14},
            # One at a time: both servers run a client's def handlers in threads of their own
            # (async_handlers=True), so two in flight may answer in either order.
            {"client": "a", "emit": ["forward", 1, [2], {"3": 3}]},
            {"client": "a", "wait": 15},
            {"client": "a", "emit": ["forward"]},
            {"client": "a", "wait": 16},
        ],
    }


@script()
def acks_of_every_shape(tag: str) -> Script:
    steps: list[dict[str, Any]] = [
        {"client": "a", "emit": ["echo"], "ack": True},
        {"client": "a", "emit": ["echo", 1], "ack": True},
        {"client": "a", "emit": ["echo", 1, "2", {"three": [3]}, None], "ack": True},
    ]
    for kind in ("none", "tuple", "single", "empty", "list", "dict", "str", "false", "bytes"):
        steps.append({"client": "a", "emit": ["ret", kind], "ack": True})
    steps.append({"client": "a", "emit": ["message", "a message"], "ack": True})
    return {"clients": [{"name": "a", "listen": ["caught"]}], "steps": steps}


@script()
def catch_alls_and_request_event(tag: str) -> Script:
    return {
        "clients": [{"name": "a", "listen": ["caught"]}, {"name": "p", "namespace": "/plain"}],
        "steps": [
            {"client": "a", "emit": ["event_info", 1, "2"], "ack": True},
            {"client": "a", "emit": ["mark"], "ack": True},
            {"client": "a", "emit": ["mark"], "ack": True},
            {"client": "a", "emit": ["unknown_event", {"d": 1}], "ack": True},
            {"client": "a", "emit": ["unknown_event", 1, 2], "ack": True},
            {"client": "a", "wait": 6},
            {"client": "p", "emit": ["wild", "w"], "ack": True},
        ],
    }


@script()
def rooms_and_targets(tag: str) -> Script:
    listen = ["room_msg", "shouted", "everyone", "message"]
    x, y = "x" + tag, "y" + tag
    steps: list[dict[str, Any]] = [
        {"client": "b", "emit": ["join", y], "ack": True},
        {"client": "a", "emit": ["join", x], "ack": True},
        {"client": "a", "emit": ["join", y], "ack": True},
        {"client": "b", "emit": ["join", x], "ack": True},
        {"client": "c", "emit": ["join", x], "ack": True},
        {"client": "a", "emit": ["to_room", x, "to x"], "ack": True},
        {"client": "a", "emit": ["to_room_skip", x, "to x but not me"], "ack": True},
        {"client": "a", "emit": ["to_room_not_me", x, "include_self=False"], "ack": True},
        {"client": "a", "emit": ["send_room", y, "sent to y"], "ack": True},
        {"client": "a", "emit": ["shout", "to all but me"], "ack": True},
        {"client": "a", "emit": ["to_all", "to all"], "ack": True},
        {"client": "b", "wait": 9},
        {"client": "c", "wait": 6},
        {"client": "b", "emit": ["leave", x], "ack": True},
        {"client": "a", "emit": ["close", x], "ack": True},
        {"client": "a", "emit": ["to_room", x, "x is closed"], "ack": True},
        {"client": "c", "emit": ["join", "z" + tag], "ack": True},
    ]
    return {"clients": [{"name": n, "listen": listen} for n in "abc"], "steps": steps}


@script(4)
def connect_refusals(tag: str) -> Script:
    refusals = ["false", "lib", "lib-bare", "builtin", "error"]
    clients = [{"name": r, "auth": {"refuse": r}, "listen": ["error_seen"]} for r in refusals]
    clients.append({"name": "greeted", "auth": {"greet": True}, "query": {"foo": "bar"}, "listen": ["welcome"]})
    clients.append({"name": "strict", "namespace": "/strict", "auth": {}})
    return {
        "clients": clients,
        "steps": [{"client": "greeted", "wait": 2}, {"client": "greeted", "emit": ["get", "auth"], "ack": True}],
    }


@script()
def server_to_client_acks(tag: str) -> Script:
    return {
        "clients": [{"name": "a", "listen": ["question", "answered"], "answers": {"question": ["yes", 2]}}],
        "steps": [
            {"client": "a", "emit": ["ask_me", "q1"]},
            {"client": "a", "wait": 3},
            {"client": "a", "emit": ["call_me", "q2"], "ack": True},
        ],
    }


@script()
def class_based_namespace(tag: str) -> Script:
    listen = ["chat_welcome", "hi", "message", "room_msg"]
    return {
        "clients": [{"name": "c", "namespace": "/chat", "listen": listen}, {"name": "p", "namespace": "/plain"}],
        "steps": [
            {"client": "c", "wait": 2},
            {"client": "c", "emit": ["hello", {"n": 1}], "ack": True},
            {"client": "c", "emit": ["join", "lobby" + tag], "ack": True},
            {"client": "c", "emit": ["no_such_method"], "ack": True},
            {"client": "c", "emit": ["to_room", "lobby" + tag, "to the lobby"]},
            {"client": "c", "wait": 8},
            {"client": "p", "emit": ["boom"], "ack": True},
            {"client": "p", "emit": ["echo", "plain"], "ack": True},
        ],
    }


@script()
def errors_and_sessions(tag: str) -> Script:
    return {
        "clients": [{"name": "a", "listen": ["error_seen"]}],
        "steps": [
            {"client": "a", "emit": ["boom"], "ack": True},
            {"client": "a", "wait": 3},
            {"client": "a", "emit": ["set", "color", "blue"], "ack": True},  # set before get: see emit_and_send_forms
            {"client": "a", "emit": ["get", "color"], "ack": True},
        ],
    }


@script()
def server_facade_and_sessions(tag: str) -> Script:
    return {
        "clients": [{"name": "a", "listen": ["via_server"]}, {"name": "c", "namespace": "/chat"}],
        "steps": [
            {"client": "a", "emit": ["server_api", "r" + tag], "ack": True},
            {"client": "a", "emit": ["sio_session"], "ack": True},
            {"client": "a", "emit": ["sio_session"], "ack": True},
            {"client": "c", "emit": ["count"], "ack": True},
            {"client": "c", "emit": ["count"], "ack": True},
        ],
    }


@script()
def background_task_and_disconnect(tag: str) -> Script:
    return {
        "clients": [{"name": "p", "namespace": "/plain", "listen": ["tick"]}, {"name": "a"}],
        "steps": [
            {"client": "a", "emit": ["ticks", 5]},
            {"client": "p", "wait": 6},
            {"client": "a", "emit": ["kick"]},
            {"client": "a", "wait": 2},
        ],
    }
