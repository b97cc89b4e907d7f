"""An app whose handlers do what the event asks: the generator's app, built with either library.

``build(lib)`` takes ``flask_socketio`` or ``surge``.  The event ``act`` carries a list of
actions (JSON, so the same list goes to both libraries), which the handler performs in order
with the library's API: emit and send with every targeting option, room operations, the Flask
session, disconnect, raising, and the value to answer with.  The same handler answers in ``/``
and ``/chat`` (functions) and ``/cls`` (a class-based namespace).  Targets name clients by
their place in the test (``"sid:2"``), which ``socketio.sids`` maps to this library's sids
(filled by the test client tests, or by the clients' ``whoami`` with their index over the network).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from flask import Flask, request, session

NAMESPACES = ("/", "/chat", "/cls")


def build(lib: ModuleType) -> tuple[Flask, Any]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "acting"
    socketio = lib.SocketIO(app)
    socketio.sids = {}  # (client index, namespace) -> sid, filled by the test from "whoami"
    socketio.disconnects = []

    def target(value: Any, namespace: str) -> Any:
        """``"sid:i"`` as client i's sid in ``namespace``; a list of targets each; a room name as is."""
        if isinstance(value, list):
            return [target(v, namespace) for v in value]
        if isinstance(value, str) and value.startswith("sid:"):
            return socketio.sids.get((int(value[4:]), namespace), "gone")
        return value

    socketio.target = target  # for the test's own emits

    def perform(actions: list[Any]) -> Any:
        namespace = request.namespace
        results: list[Any] = []
        answer: Any = None
        answered = False
        for action in actions:
            verb, args = action[0], action[1:]
            if verb in ("emit", "send", "server_emit"):
                options = dict(args[-1])
                data = args[-2]
                if options.pop("tuple", False):
                    data = tuple(data)
                for key in ("to", "room", "skip_sid"):
                    if key in options:
                        options[key] = target(options[key], options.get("namespace", namespace))
                if verb == "emit":
                    lib.emit(args[0], data, **options)
                elif verb == "send":
                    lib.send(data, **options)
                else:
                    socketio.emit(args[0], data, **options)
            elif verb == "join":
                lib.join_room(args[0])
            elif verb == "leave":
                lib.leave_room(args[0])
            elif verb == "close":
                lib.close_room(args[0])
            elif verb == "rooms":
                results.append(lib.rooms())
            elif verb == "set":
                session[args[0]] = args[1]
            elif verb == "get":
                results.append(session.get(args[0]))
            elif verb == "disconnect":
                lib.disconnect()
            elif verb == "raise":
                raise ValueError("asked to")
            elif verb == "return":
                answer, answered = (tuple(args[0]) if args[1] else args[0]), True
        if answered:
            return answer
        return results or None

    @socketio.on("connect")
    def connect(auth: Any) -> Any:
        return on_connect(auth)

    @socketio.on("connect", namespace="/chat")
    def connect_chat(auth: Any) -> Any:
        return on_connect(auth)

    def on_connect(auth: Any) -> Any:
        if isinstance(auth, dict):
            if auth.get("refuse"):
                return False
            if auth.get("raise"):
                raise lib.ConnectionRefusedError("not you", {"why": auth["raise"]})
            if "greet" in auth:
                lib.emit("welcome", auth["greet"])
            session["auth"] = auth
        return None

    @socketio.on("disconnect")
    def disconnect(reason: Any = None) -> None:
        socketio.disconnects.append([request.namespace, request.sid, str(reason)])

    @socketio.on("whoami")
    def whoami(index: int | None = None) -> Any:
        return who(index)

    @socketio.on("whoami", namespace="/chat")
    def whoami_chat(index: int | None = None) -> Any:
        return who(index)

    def who(index: int | None) -> str:
        """The client's sid; with its place in the test, learned as ``sid:<index>`` (live tests)."""
        if index is not None:
            socketio.sids[(index, request.namespace)] = request.sid
        return str(request.sid)

    @socketio.on("act")
    def act(actions: list[Any]) -> Any:
        return perform(actions)

    @socketio.on("act", namespace="/chat")
    def act_chat(actions: list[Any]) -> Any:
        return perform(actions)

    @socketio.on("*")
    def catch_all(event: str, *args: Any) -> Any:
        lib.emit("caught", (event, *args))
        return [event, len(args)]

    @socketio.on_error("/chat")
    def chat_error(exc: Exception) -> Any:
        return ["handled", type(exc).__name__]

    class Actor(lib.Namespace):  # type: ignore[name-defined,misc]
        def on_connect(self, auth: Any = None) -> Any:
            return on_connect(auth)

        def on_whoami(self, index: int | None = None) -> Any:
            return who(index)

        def on_act(self, actions: list[Any]) -> Any:
            return perform(actions)

        def on_disconnect(self, reason: Any = None) -> None:
            socketio.disconnects.append([request.namespace, request.sid, str(reason)])

    socketio.on_namespace(Actor("/cls"))
    return app, socketio
