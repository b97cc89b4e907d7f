"""An app that exercises the Flask-SocketIO API surface, served for the integration tests.

Written as a Flask-SocketIO user would write it; only the import names Surge.
"""

import os
import threading
import time

from flask import Flask, jsonify, request, session

from surge import (
    ConnectionRefusedError,
    Namespace,
    SocketIO,
    call,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
    send,
)

app = Flask(__name__)
app.config["SECRET_KEY"] = "test"
socketio = SocketIO(app, async_handlers=os.environ.get("ASYNC_HANDLERS", "1") == "1", namespaces="*")
log: list = []
log_lock = threading.Lock()
ticker_started = threading.Event()


def record(**entry):
    with log_lock:
        log.append(entry)


@app.route("/_log")
def get_log():
    with log_lock:
        return jsonify(log)


@socketio.on("connect")
def connect(auth):
    if auth and auth.get("refuse") == "false":
        return False
    if auth and auth.get("refuse") == "raise":
        raise ConnectionRefusedError("go away", {"code": 42})
    session["user"] = (auth or {}).get("user", "anon")


@socketio.on("whoami")
def whoami():
    return {
        "sid": request.sid,
        "namespace": request.namespace,
        "event": request.event["message"],
        "user": session.get("user"),
        "rooms": sorted(rooms()),
    }


@socketio.on("set_session")
def set_session(value):
    session["value"] = value


@socketio.on("get_session")
def get_session():
    return session.get("value")


@socketio.on("message")
def message(data):
    send({"echo": data})


@socketio.on("json")
def json_message(data):
    send({"echo": data}, json=True)


@socketio.on("join")
def join(room):
    join_room(room)
    return sorted(rooms())


@socketio.on("leave")
def leave(room):
    leave_room(room)
    return sorted(rooms())


@socketio.on("shout")
def shout(data, options):
    """Emit 'heard' with the routing options the client asks for."""
    kwargs = dict(options)
    emit("heard", data, **kwargs)


@socketio.on("server_shout")
def server_shout(data, options):
    socketio.emit("heard", data, **options)


@socketio.on("close")
def close(room):
    close_room(room)


@socketio.on("ask")
def ask(question):
    """Ask the sender with callback=; the callback runs in the sender's request context."""

    def answered(*answer):
        record(event="answered", sid=request.sid, answer=list(answer))

    emit("question", question, callback=answered)


@socketio.on("call_me")
def call_me(question, timeout):
    try:
        return {"answer": call("question", question, timeout=timeout)}
    except TimeoutError:
        return {"error": "timeout"}
    except ConnectionError as exc:
        record(event="call_failed", error=type(exc).__name__)
        return {"error": type(exc).__name__}


@socketio.on("fail")
def fail(what):
    raise ValueError(what)


@socketio.on_error()
def on_error(exc):
    record(event="error", handler_event=request.event["message"], error=str(exc), sid=request.sid)
    return {"error": str(exc)}


@socketio.on("kick")
def kick():
    disconnect()


@socketio.on("slow")
def slow(seconds):
    time.sleep(seconds)
    return "slept"


@socketio.on("forever")
def forever():
    """The trap of the tutorials: a handler that never returns.  Other clients must not notice."""
    n = 0
    while True:
        n += 1
        emit("tick", n)
        time.sleep(0.2)


@socketio.on("progress")
def progress(steps, delay):
    """A long job reporting each step as it goes."""
    for step in range(1, steps + 1):
        time.sleep(delay)
        emit("step", {"step": step, "of": steps, "t": time.time()})
    return {"done": time.time()}


@socketio.on("ordered")
def ordered(n, delay):
    time.sleep(delay)
    record(event="ordered", n=n)
    return n


@socketio.on("disconnect")
def on_disconnect(reason):
    record(event="disconnect", sid=request.sid, reason=reason)


@socketio.on("*")
def catch_all(event, *args):
    return {"caught": event, "args": list(args)}


class Chat(Namespace):
    def on_connect(self):
        self.emit("chat_ready", {"sid": request.sid})

    def on_say(self, text):
        self.emit("said", {"text": text}, room="lobby")
        return "ok"

    def on_enter(self):
        self.enter_room(request.sid, "lobby")
        return sorted(self.rooms(request.sid))

    async def on_async_echo(self, value):
        return {"async": value}


socketio.on_namespace(Chat("/chat"))


def push_numbers():
    n = 0
    while True:
        socketio.sleep(0.3)
        n += 1
        socketio.emit("number", {"n": n}, namespace="/test_conn")


@socketio.on("connect", namespace="/test_conn")
def test_conn_connect():
    if not ticker_started.is_set():
        ticker_started.set()
        socketio.start_background_task(push_numbers)


@socketio.on("whatever", namespace="*")
def any_namespace(*args):
    return {"namespace": request.namespace, "event": request.event["message"]}


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]))
