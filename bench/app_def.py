"""The shared benchmark app on Surge with ``def`` handlers, as Flask users write them.

Run by ../shared/bench/run.sh (target ``custom``) and by bench/compare.py for the extra
scenarios (``join`` with a room name, ``to_room``); PORT comes from the environment.
With RECOVERY=1 it runs with connection state recovery on (every event logged, with its offset),
with METRICS=1 with Prometheus metrics on, with ADMIN=1 instrumented for the Admin UI
(development mode: every socket and event reported, to no UI unless one signs in),
with WORKERS=N as N worker processes (bench/scaling.py).
"""

import logging
import os
from pathlib import Path

from flask import Flask, request

from surge import SocketIO, emit, join_room

# bench/routes.py: a page, and a static file (the npm client's own, where `npm ci` put it).
CLIENT_DIST = Path(__file__).parent.parent / "node_modules" / "socket.io-client" / "dist"
app = Flask(__name__, static_folder=str(CLIENT_DIST), static_url_path="/static")
socketio = SocketIO(
    app,
    ping_interval=float(os.environ.get("PING_INTERVAL", "25")),  # bench/idle.py: heartbeats every second
    connection_state_recovery=os.environ.get("RECOVERY") == "1",
    metrics=os.environ.get("METRICS") == "1",
)
if os.environ.get("BENCH_LOG") != "1":  # bench/scaling.py reads the workers' hand-off counts
    logging.getLogger("surge").setLevel(logging.ERROR)
if os.environ.get("ADMIN") == "1":
    socketio.instrument(auth=False, ui_path=None)


@app.route("/page")
def page():
    return "hello"


# REALISTIC=1 (bench/compare.py's "realistic"): what an app's handler does besides answering,
# a lookup of the client's profile and a join_room, each echo.
REALISTIC = os.environ.get("REALISTIC") == "1"
profiles: dict[str, dict[str, str]] = {}


@socketio.on("echo")
def echo(*args):
    if REALISTIC:
        profile = profiles.get(request.sid)
        if profile is None:
            profile = profiles[request.sid] = {"name": "user", "room": "lobby"}
        join_room(profile["room"])
    return args


@socketio.on("join")
def join(*args):
    join_room(args[0] if args else "r")


@socketio.on("bcast")
def bcast(data):
    emit("msg", data, to="r")


@socketio.on("to_room")
def to_room(room, data):
    emit("msg", data, to=room)


if __name__ == "__main__":
    socketio.run(
        app,
        host="127.0.0.1",
        port=int(os.environ.get("PORT", "5000")),
        workers=os.environ.get("WORKERS", "1"),
        log_output=os.environ.get("BENCH_LOG") == "1",
    )
