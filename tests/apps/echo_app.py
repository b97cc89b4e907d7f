"""The app the integration tests run as a real server process (PORT from the environment).

``/_log`` returns what the handlers recorded, so tests can check server-side effects.
"""

import os
import threading

from flask import Flask, jsonify, request

import surge.dispatch
from surge import ConnectionRefusedError, SocketIO, disconnect, emit, join_room

app = Flask(__name__)
app.config["SECRET_KEY"] = "test"
socketio = SocketIO(
    app,
    logger=True,
    ping_interval=float(os.environ.get("PING_INTERVAL", "25")),
    ping_timeout=float(os.environ.get("PING_TIMEOUT", "20")),
    max_http_buffer_size=int(os.environ.get("MAX_BUFFER", "1000000")),
    request_timeout=float(os.environ.get("REQUEST_TIMEOUT", "10")),
    max_connections=int(os.environ["MAX_CONNECTIONS"]) if "MAX_CONNECTIONS" in os.environ else None,
    max_write_buffer=int(os.environ.get("MAX_WRITE_BUFFER", str(1024 * 1024))),
    cors_allowed_origins=os.environ.get("CORS_ORIGIN"),
    metrics=os.environ.get("METRICS") == "1",
    cookie=os.environ.get("COOKIE"),
)
if os.environ.get("ADMIN") == "1":
    socketio.instrument(auth={"username": "admin", "password": "secret"})
log: list[dict] = []
log_lock = threading.Lock()


def record(**entry) -> None:
    with log_lock:
        log.append(entry)


@app.route("/")
def index():
    return "surge test app"


@app.route("/_log")
def get_log():
    with log_lock:
        return jsonify(log)


@socketio.on("connect")
def on_connect(auth):
    if isinstance(auth, dict) and auth.get("refuse"):
        raise ConnectionRefusedError("refused by test", {"why": auth["refuse"]})
    # An emit made inside the connect handler must arrive after the CONNECT reply.
    emit("welcome", {"sid": request.sid, "auth": auth})


@socketio.on("disconnect")
def on_disconnect(reason):
    record(event="disconnect", namespace="/", sid=request.sid, reason=reason)


@socketio.on("echo")
def echo(*args):
    return args


@socketio.on("join")
def join(room):
    join_room(room)
    return room


@socketio.on("join_twice")
async def join_twice(room):
    """On the loop: the first join_room enters the room, the second finds the client in it already."""
    join_room(room)
    join_room(room)
    return room


@socketio.on("build")
def build():
    """Which build of Surge serves this (the suite's second run: its servers' too, however started)."""
    return "compiled" if surge.dispatch.__file__.endswith(".so") else "pure"


@socketio.on("to_room")
def to_room(room, data):
    emit("room_message", data, to=room)


@socketio.on("explode")
def explode():
    raise RuntimeError("handler failed on purpose")


@socketio.on("flood")
def flood(room, count, size):
    """Broadcast ``count`` messages of ``size`` bytes to ``room``, as fast as they go."""
    payload = "x" * size
    for n in range(count):
        socketio.emit("flood", {"n": n, "pad": payload}, to=room)
    return count


@socketio.on("ask_client")
def ask_client(question):
    """Emit to the sender with a callback; report what the client answered."""
    sid = request.sid

    def answered(*answer):
        record(event="client_answer", sid=sid, answer=list(answer))
        socketio.emit("answer_received", list(answer), to=sid)

    emit("question", question, callback=answered)


@socketio.on("kick_me")
def kick_me():
    disconnect()


@socketio.on("connect", namespace="/chat")
def chat_connect(auth):
    emit("chat_welcome", {"namespace": request.namespace})


@socketio.on("echo", namespace="/chat")
async def chat_echo(*args):
    return ["chat", *args]


@socketio.on("disconnect", namespace="/chat")
def chat_disconnect(reason):
    record(event="disconnect", namespace="/chat", sid=request.sid, reason=reason)


if __name__ == "__main__":
    socketio.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        certfile=os.environ.get("CERTFILE"),
        keyfile=os.environ.get("KEYFILE"),
    )
