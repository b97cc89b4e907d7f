"""One Surge process of a cluster sharing rooms through a message queue (QUEUE_URL, REDIS_STREAMS, CHANNEL, METRICS, ADMIN from the environment)."""

import logging
import os

from flask import Flask, request

import surge.dispatch
from surge import SocketIO, call, emit, join_room

# Each line with its time (seconds since the epoch): tests compare it with when clients got messages.
logging.basicConfig(level=logging.INFO, format="%(created).3f %(name)s %(levelname)s %(message)s")
app = Flask(__name__)
socketio = SocketIO(
    app,
    message_queue=os.environ.get("QUEUE_URL"),  # none: one machine's workers (tests/apps/workers_app.py)
    redis_streams=os.environ.get("REDIS_STREAMS") == "1",
    channel=os.environ.get("CHANNEL", "flask-socketio"),
    logger=True,
    metrics=os.environ.get("METRICS") == "1",
)
if os.environ.get("ADMIN") == "1":
    socketio.instrument(auth=False)


@socketio.on("join")
def join(room):
    join_room(room)
    return request.sid


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


@socketio.on("echo")
def echo(*args):
    return args


@socketio.on("to_room")
def to_room(room, data):
    emit("room_message", data, to=room)


@socketio.on("burst")
def burst(room, count):
    for n in range(count):
        emit("room_message", {"n": n}, to=room)
        socketio.sleep(0.02)  # spread over a while, so some go out while a process is cut off


@socketio.on("dm")
def dm(sid, data):
    emit("dm", {"from": request.sid, "data": data}, to=sid)


@socketio.on("put_in_room")
def put_in_room(sid, room):
    join_room(room, sid=sid)  # sid may be a client of another process


@socketio.on("ask_other")
def ask_other(sid):
    """emit(callback=) to a client that may be on another process; the answer comes back here."""
    asker = request.sid

    def answered(*answer):
        socketio.emit("answered", list(answer), to=asker)

    emit("question", "from " + asker, to=sid, callback=answered)


@socketio.on("call_other")
def call_other(sid):
    return call("question", "called", to=sid, timeout=5)


@socketio.on("list_room")
def list_room(room):
    return sorted(s["sid"] for s in socketio.fetch_sockets(to=room))


@socketio.on("move_room")
def move_room(room_from, room_to):
    socketio.sockets_join(room_to, to=room_from)


@socketio.on("kick_room")
def kick_room(room):
    socketio.disconnect_sockets(to=room)


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]))
