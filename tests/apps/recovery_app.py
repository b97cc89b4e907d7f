"""An app with connection state recovery (tests/integration/test_recovery.py).

RECOVERY_WINDOW (seconds) and SKIP_CONNECT ("0": the connect handler sees recovered clients too)
come from the environment, with PORT; ASGI_SERVER=uvicorn serves asgi_app() under uvicorn.
QUEUE_URL and CHANNEL make it one process of a cluster on Redis Streams (test_recovery_cluster.py),
WORKERS=N runs it with socketio.run(workers=N).
"""

import logging
import os

from flask import Flask, jsonify, request

from surge import SocketIO, emit, join_room

logging.basicConfig(level=logging.INFO)  # the log says why a session was not recovered
app = Flask(__name__)
queue = {}
if "QUEUE_URL" in os.environ:
    queue = {"message_queue": os.environ["QUEUE_URL"], "channel": os.environ["CHANNEL"], "redis_streams": True}
socketio = SocketIO(
    app,
    **queue,
    connection_state_recovery={
        "max_disconnection_duration": float(os.environ.get("RECOVERY_WINDOW", "60")),
        "skip_connect_handler": os.environ.get("SKIP_CONNECT", "1") == "1",
    },
)
connects: list[dict] = []


@app.route("/_connects")
def get_connects():
    return jsonify(connects)


@app.route("/_sockets")
def get_sockets():
    """This process's clients: sid -> rooms."""
    rooms = socketio.server.manager.rooms.get("/", {})
    sids = {sid for members in rooms.values() for sid in members}
    return jsonify({sid: sorted(r for r, members in rooms.items() if r is not None and sid in members) for sid in sids})


@app.route("/_where/<sid>")
def where(sid):
    """Whether this process (a worker: the one that took this request) has ``sid``."""
    return jsonify({"pid": os.getpid(), "here": sid in socketio.server.manager.rooms.get("/", {}).get(None, {})})


@app.route("/_push/<sid>")
def push(sid):
    """What the client misses while it is away, sent from this process."""
    push_missed(sid)
    return "ok"


def push_missed(sid):
    socketio.emit("missed", "to sid", to=sid)
    socketio.emit("missed", "to room", to="r1")
    socketio.emit("missed", "to all")
    socketio.emit("missed", "to the room but it", to="r1", skip_sid=sid)
    socketio.emit("missed", "to another room", to="r2")


@socketio.on("connect")
def on_connect(auth):
    connects.append({"sid": request.sid, "recovered": socketio.recovered})


@socketio.on("echo")
def echo(*args):
    return args


@socketio.on("join")
def join(room):
    join_room(room)
    return room


@socketio.on("ping_me")
def ping_me():
    emit("before", "the drop")
    return True


@socketio.on("push_later")
def push_later(delay):
    """While the client is away: an emit to its sid, to its room, to everyone, and one that skips it."""
    sid = request.sid

    def push():
        socketio.sleep(delay)
        push_missed(sid)

    socketio.start_background_task(push)
    return True


@socketio.on("whoami")
def whoami():
    return {"sid": request.sid, "recovered": socketio.recovered}


@socketio.on("push_now")
def push_now():
    emit("now", "after the reconnect", to="r1")
    return True


if __name__ == "__main__":
    if os.environ.get("ASGI_SERVER") == "uvicorn":
        import uvicorn

        uvicorn.run(socketio.asgi_app(), host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
    else:
        socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), workers=int(os.environ.get("WORKERS", "1")))
