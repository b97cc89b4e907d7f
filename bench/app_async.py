"""The shared benchmark app on Surge with ``async def`` handlers (run on the event loop).

Run by ../shared/bench/run.sh (target ``custom``) and by bench/compare.py for the extra
scenarios (``join`` with a room name, ``to_room``); PORT comes from the environment.
With REDIS_URL (and CHANNEL) set it is one process of a cluster (bench/cluster_broadcast.py), on
Redis Streams with REDIS_STREAMS=1.  METRICS=1 and ADMIN=1 as for bench/app_def.py.
"""

import logging
import os

from flask import Flask, request

from surge import SocketIO, emit, join_room

app = Flask(__name__)
socketio = SocketIO(
    app,
    ping_interval=float(os.environ.get("PING_INTERVAL", "25")),  # bench/idle.py: heartbeats every second
    message_queue=os.environ.get("REDIS_URL"),
    redis_streams=os.environ.get("REDIS_STREAMS") == "1",
    channel=os.environ.get("CHANNEL", "flask-socketio"),
    connection_state_recovery=os.environ.get("RECOVERY") == "1",  # with REDIS_STREAMS: across processes
    metrics=os.environ.get("METRICS") == "1",
)
logging.getLogger("surge").setLevel(logging.ERROR)
if os.environ.get("ADMIN") == "1":
    socketio.instrument(auth=False, ui_path=None)


# REALISTIC=1 (bench/compare.py's "realistic"): what an app's handler does besides answering,
# a lookup of the client's profile and a join_room, each echo.
REALISTIC = os.environ.get("REALISTIC") == "1"
profiles: dict[str, dict[str, str]] = {}


@socketio.on("echo")
async def echo(*args):
    if REALISTIC:
        profile = profiles.get(request.sid)
        if profile is None:
            profile = profiles[request.sid] = {"name": "user", "room": "lobby"}
        join_room(profile["room"])
    return args


@socketio.on("join")
async def join(*args):
    join_room(args[0] if args else "r")


@socketio.on("bcast")
async def bcast(data):
    emit("msg", data, to="r")


@socketio.on("to_room")
async def to_room(room, data):
    emit("msg", data, to=room)


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
