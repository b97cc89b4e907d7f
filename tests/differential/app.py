"""One Flask app written against the Flask-SocketIO API, built with either library.

``build(lib)`` takes the module ``flask_socketio`` or ``surge`` and returns the
app and its ``SocketIO``: the same handlers, so the differential tests can run
the same client sessions against both and compare what the clients see.
Handlers answer with what they observe (``request.event``, ``rooms()``, the
session...) with sids replaced by ``"<sid>"``, since sids differ by nature.
"""

from __future__ import annotations

import builtins
import datetime
import decimal
import threading
import uuid
from types import ModuleType
from typing import Any

from flask import Flask, g, request, session, url_for
from flask.json.provider import DefaultJSONProvider

SID = "<sid>"


def anonymise(value: Any) -> Any:
    """``value`` with the current sid written as ``<sid>`` (recursively)."""
    sid = getattr(request, "sid", None)
    if isinstance(value, str):
        return SID if value == sid else value
    if isinstance(value, list | tuple):
        return [anonymise(v) for v in value]
    if isinstance(value, dict):
        if "wsgi.input" in value:
            return "<environ>"  # Flask-SocketIO passes the WSGI environ to connect handlers' request.event
        return {k: anonymise(v) for k, v in value.items()}
    return value


class SetsAsLists(DefaultJSONProvider):
    """An app JSON provider of the app's own: what ``json=flask.json`` must use."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, set):
            return sorted(o)
        return DefaultJSONProvider.default(o)


def build(
    lib: ModuleType, server_sessions: bool = False, error_handlers: bool = True, factory: bool = False, **options: Any
) -> tuple[Flask, Any]:
    """The app on ``lib``; ``server_sessions``: Flask-Session in memory, as Flask-SocketIO's sessions example;
    ``factory``: ``SocketIO()`` then ``init_app(app)``, as application factories do."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "differential"
    app.json = SetsAsLists(app)
    if server_sessions:
        from cachelib import SimpleCache
        from flask_session import Session

        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=SimpleCache())
        Session(app)
    if factory:
        socketio = lib.SocketIO(**options)
    else:
        socketio = lib.SocketIO(app, **options)
    disconnects: list[Any] = []
    socketio.disconnects = disconnects  # what disconnect handlers saw, for the tests to read
    lock = threading.Lock()

    @app.route("/login/<name>")
    def login(name: str) -> str:
        session["user"] = name
        return "ok"

    @app.route("/session/<key>")
    def http_session(key: str) -> Any:
        return {"value": session.get(key)}

    @app.route("/disconnects")
    def get_disconnects() -> Any:
        with lock:
            return list(disconnects)

    @socketio.on("connect")
    def connect(auth: Any) -> Any:
        refuse = (auth or {}).get("refuse")
        if refuse == "false":
            return False
        if refuse == "lib":
            raise lib.ConnectionRefusedError("go away", {"code": 42})
        if refuse == "lib-bare":
            raise lib.ConnectionRefusedError()
        if refuse == "builtin":
            raise builtins.ConnectionRefusedError("nope")
        if refuse == "error":
            raise ValueError("connect failed")
        session["auth"] = auth
        if (auth or {}).get("greet"):
            lib.emit("welcome", {"auth": auth, "args": request.args.getlist("foo")})
        return None

    @socketio.on("disconnect")
    def disconnect(reason: Any = None) -> None:
        with lock:
            disconnects.append({"namespace": request.namespace, "reason": str(reason)})

    @socketio.on("echo")
    def echo(*args: Any) -> Any:
        return args

    @socketio.on("ret")
    def ret(kind: str) -> Any:
        return {
            "none": None,
            "tuple": (1, "2"),
            "single": ("only",),
            "empty": (),
            "list": [1, "2"],
            "dict": {"a": 1},
            "str": "s",
            "false": False,
            "bytes": b"\x00\x01",
        }[kind]

    @socketio.on("emit_forms")
    def emit_forms() -> None:
        lib.emit("tuple", (1, "2"))
        lib.emit("list", [1, "2"])
        lib.emit("nothing")
        lib.emit("none", None)
        lib.emit("dict", {"x": 1})
        lib.emit("single", ("only",))
        lib.emit("empty", ())
        lib.emit("binary", (1, b"\x00\x01"))
        lib.send("text")
        lib.send({"j": 1}, json=True)
        lib.send(("t", 1))
        socketio.emit("server_tuple", (3, 4), to=request.sid)
        socketio.send("server_send", to=request.sid)

    @socketio.on("forward")
    def forward(*args: Any) -> None:
        lib.emit("forwarded", args, ignore_queue=True)

    @socketio.on("event_info")
    def event_info(*args: Any) -> Any:
        return anonymise({"event": request.event, "namespace": request.namespace})

    @socketio.on("mark")
    def mark() -> Any:
        """What an event sets on request and g: seen by the next event or not; and url_for."""
        seen = [getattr(request, "mark", None), getattr(g, "mark", None), url_for("login", name="n")]
        request.mark = g.mark = "set"  # type: ignore[attr-defined]
        return seen

    @socketio.on("query")
    def query() -> Any:
        return {"foo": request.args.getlist("foo"), "header": request.headers.get("X-Test")}

    @socketio.on("*")
    def catch_all(event: str, *args: Any) -> Any:
        lib.emit("caught", (event, *args))
        return anonymise(request.event)

    @socketio.on("wild", namespace="*")
    def wild(data: Any) -> Any:
        return ("wild", data, request.namespace)

    @socketio.on("join")
    def join(room: str) -> Any:
        lib.join_room(room)
        return anonymise(lib.rooms())

    @socketio.on("leave")
    def leave(room: str) -> Any:
        lib.leave_room(room)
        return anonymise(lib.rooms())

    @socketio.on("close")
    def close(room: str) -> Any:
        lib.close_room(room)
        return anonymise(lib.rooms())

    @socketio.on("own_room")
    def own_room(action: str) -> Any:
        """The personal room left and joined again, and another client's (which python-socketio guards)."""
        others = [sid for sid, _ in socketio.server.manager.get_participants("/", None) if sid != request.sid]
        if action == "leave":
            lib.leave_room(request.sid)
        elif action == "join":
            lib.join_room(request.sid)
        elif action == "join_other":
            lib.join_room(others[0])
        elif action == "close_other":
            lib.close_room(others[0])
        elif action == "server_join_other":
            socketio.server.enter_room(request.sid, others[0])
        elif action == "to_others":
            for sid in others:
                socketio.emit("to_sid", "hello", to=sid)
        return anonymise(lib.rooms())

    @socketio.on("shout")
    def shout(data: Any) -> None:
        lib.emit("shouted", data, broadcast=True, include_self=False)

    @socketio.on("to_all")
    def to_all(data: Any) -> None:
        lib.emit("everyone", data, broadcast=True)

    @socketio.on("to_room")
    def to_room(room: str, data: Any) -> None:
        lib.emit("room_msg", data, to=room)

    @socketio.on("to_room_skip")
    def to_room_skip(room: str, data: Any) -> None:
        lib.emit("room_msg", data, to=room, skip_sid=request.sid)

    @socketio.on("to_room_not_me")
    def to_room_not_me(room: str, data: Any) -> None:
        lib.emit("room_msg", data, room=room, include_self=False)

    @socketio.on("send_room")
    def send_room(room: str, data: Any) -> None:
        lib.send(data, to=room)

    @socketio.on("set")
    def set_session(key: str, value: Any) -> None:
        session[key] = value

    @socketio.on("get")
    def get_session(key: str) -> Any:
        return session.get(key)

    @socketio.on("boom")
    def boom() -> None:
        raise ValueError("boom")

    if error_handlers:

        @socketio.on_error()
        def on_error(exc: Exception) -> Any:
            lib.emit("error_seen", anonymise({"type": type(exc).__name__, "event": request.event}))
            return "handled"

        @socketio.on_error_default
        def on_error_default(exc: Exception) -> Any:
            if request.namespace == "/strict":
                raise exc  # as if there were no error handler: python-socketio sees the exception
            return ("default", type(exc).__name__, request.namespace)

    @socketio.on("connect", namespace="/strict")
    def strict_connect(auth: Any) -> None:
        raise builtins.ConnectionRefusedError("the message is not sent")

    @socketio.on("ask_me")
    def ask_me(data: Any) -> None:
        """A server-to-client emit with a callback; the callback answers in the emitter's context."""
        emitter = request.sid

        def answered(*args: Any) -> None:
            lib.emit("answered", {"args": list(args), "emitter": request.sid == emitter, "event": request.event})

        lib.emit("question", data, callback=answered)

    @socketio.on("call_me")
    def call_me(data: Any) -> Any:
        return ("called", lib.call("question", data, timeout=5))

    @socketio.on("ticks")
    def ticks(n: int) -> None:
        def tick() -> None:
            for i in range(n):
                socketio.emit("tick", i, namespace="/plain")
                socketio.sleep(0.01)

        socketio.start_background_task(tick)

    @socketio.on("server_api")
    def server_api(room: str) -> Any:
        """What apps reach through socketio.server for lack of a public API."""
        server = socketio.server
        server.enter_room(request.sid, room)
        participants = [sid for sid, _ in server.manager.get_participants("/", room)]
        seen = {
            "participants": [len(participants), request.sid in participants],
            "in_everyone": request.sid in [sid for sid, _ in server.manager.get_participants("/", None)],
            "rooms": anonymise(server.rooms(request.sid)),
            "count": len(server.manager.rooms["/"][room]),
            "async_mode": [socketio.async_mode, server.async_mode, server.eio.async_mode],
            "connected": server.manager.is_connected(request.sid, "/"),
            "environ": server.get_environ(request.sid)["PATH_INFO"],
        }
        server.emit("via_server", (room, 1), to=room)
        server.leave_room(request.sid, room)
        return seen

    @socketio.on("sio_session")
    def sio_session() -> Any:
        """python-socketio's per-client session (it lives in the Engine.IO session: not in test clients)."""
        with socketio.server.session(request.sid) as per_client:
            per_client["n"] = per_client.get("n", 0) + 1
        return socketio.server.get_session(request.sid)["n"]

    @socketio.on("typed")
    def typed() -> Any:
        """Values only the app's JSON provider encodes (json=flask.json)."""
        when = datetime.datetime(2026, 12, 1, 11, 0, tzinfo=datetime.UTC)
        value = {"b": 1, "a": decimal.Decimal("1.5"), "when": when, "id": uuid.UUID(int=7), "tags": {"y", "x"}}
        lib.emit("typed", value)
        return value

    @socketio.on("typed_from_a_thread")
    def typed_from_a_thread() -> None:
        """The same values emitted from a plain thread, where no app context is pushed."""
        value = {"tags": {"y", "x"}, "id": uuid.UUID(int=7)}
        sid = request.sid
        thread = threading.Thread(target=lambda: socketio.emit("typed", value, to=sid))
        thread.start()
        thread.join()

    @socketio.on("emit_then_change")
    def emit_then_change(where: str) -> Any:
        """Data changed right after the emit: the client must get it as it was at the call."""
        data: dict[str, Any] = {"foo": "bar", "items": [1]}
        sid = request.sid

        def emit_and_change() -> None:
            if where == "handler":
                lib.emit("snapshot", data)
            elif where == "send":
                lib.send(data, json=True)
            else:  # socketio.emit from a plain thread, outside any request
                socketio.emit("snapshot", data, to=sid)
            data["foo"] = "baz"
            data["items"].append(2)

        if where == "thread":
            thread = threading.Thread(target=emit_and_change)
            thread.start()
            thread.join()
        else:
            emit_and_change()
        return "done"

    @socketio.on("emit_refused")
    def emit_refused(kind: str) -> Any:
        """What neither library can send: the emit raises where it is made, with the JSON error."""
        value = {
            "object": {"x": object()},
            "datetime": datetime.datetime(2020, 1, 2),
            "uuid": uuid.UUID(int=7),
            "set": {1},
            "bytes_in_a_tuple": {"t": (1, b"\x00")},
        }[kind]
        try:
            lib.emit("never", value)
        except TypeError as exc:
            return {"raises": "TypeError", "message": str(exc)}
        return "sent"

    @socketio.on("emit_edges")
    def emit_edges() -> None:
        """Values the standard library writes in its own way (python-socketio's codec)."""
        lib.emit("edges", (float("nan"), float("inf"), 2**70, {1: "int key", None: "none key"}, "\ud800"))

    @socketio.event
    def named_after_the_function(data: Any) -> Any:
        return ("event decorator", data)

    @socketio.event(namespace="/plain")
    def plain_named(data: Any) -> Any:
        return ("event decorator in /plain", data)

    def registered_without_a_decorator(data: Any) -> Any:
        return ("on_event", data, request.event["message"])

    socketio.on_event("plain_function", registered_without_a_decorator)

    @socketio.on("close_from_server")
    def close_from_server(room: str) -> Any:
        socketio.close_room(room)
        return anonymise(lib.rooms())

    @socketio.on("kick")
    def kick() -> None:
        lib.disconnect()

    @socketio.on("connect", namespace="/plain")
    def plain_connect() -> None:
        lib.emit("plain_welcome", request.namespace)

    @socketio.on("boom", namespace="/plain")
    def plain_boom() -> None:
        raise KeyError("plain")

    @socketio.on("echo", namespace="/plain")
    def plain_echo(data: Any) -> Any:
        return data

    class Chat(lib.Namespace):  # type: ignore[name-defined,misc]
        def on_connect(self) -> None:
            self.emit("chat_welcome", "hello", room=request.sid)

        def on_hello(self, data: Any) -> Any:
            self.emit("hi", data, room=request.sid)
            self.send(("sent", data), room=request.sid)
            return ("ok", data)

        def on_join(self, room: str) -> Any:
            lib.join_room(room)
            return anonymise(lib.rooms())

        def on_to_room(self, room: str, data: Any) -> None:
            self.emit("room_msg", data, room=room)

        def on_count(self) -> Any:
            with self.session(request.sid) as per_client:
                per_client["n"] = per_client.get("n", 0) + 1
            return self.get_session(request.sid)["n"]

        def on_rooms_api(self, room: str) -> Any:
            sid = request.sid
            self.enter_room(sid, room)
            seen = [anonymise(self.rooms(sid))]
            self.leave_room(sid, room)
            seen.append(anonymise(self.rooms(sid)))
            self.enter_room(sid, room)
            self.close_room(room)
            seen.append(anonymise(self.rooms(sid)))
            return seen

        def on_leave_me(self) -> None:
            self.disconnect(request.sid)

        def on_boom(self) -> None:
            raise RuntimeError("class boom")

        def on_disconnect(self, reason: Any = None) -> None:
            with lock:
                disconnects.append({"namespace": request.namespace, "reason": str(reason)})

    class Traced(lib.Namespace):  # type: ignore[name-defined,misc]
        """Overrides trigger_event, as apps do for a catch-all or logging."""

        def trigger_event(self, event: str, *args: Any) -> Any:
            if event in ("connect", "disconnect"):
                return super().trigger_event(event, *args)
            # Outside any request context, as in Flask-SocketIO; args[0] is the sid.
            return ("traced", event, len(args), list(args[1:]))

    socketio.on_namespace(Chat("/chat"))
    socketio.on_namespace(Traced("/traced"))
    if factory:
        socketio.init_app(app)  # after the handlers, as an application factory runs
    return app, socketio
