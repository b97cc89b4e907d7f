"""The Surge demo: the situations of the Flask-SocketIO tutorials, one page each.

    make demo            # or: surge examples/demo/app.py --port 5000

Every scenario is a small module of this folder that adds its routes (a Blueprint)
and its Socket.IO handlers (on its own namespace) using only Surge's public API:

    notifications.py  sign in, send a user a notification; every tab of theirs shows it live
    timed_push.py     a background task pushes a random number to /test_conn every few seconds
    chat.py           rooms with join/leave, "X has entered the room", member lists
    progress.py       a long job reports each step as it goes
    echo.py           the echo test page: my_event / my_response with acks
    old_client.py     the echo page with the socket.io.js 2.x and 1.x clients of old tutorials
    inside.py         the official Socket.IO Admin UI at /admin/ and the metrics at /metrics

With SURGE_MESSAGE_QUEUE=redis://127.0.0.1:6379/0 several processes share rooms and
broadcasts (run a second one on another port and open both).
"""

import importlib.util
import os
import sys
from pathlib import Path

from flask import Flask, render_template

sys.path.insert(0, str(Path(__file__).parent))  # the scenario modules sit next to this file

import chat
import echo
import inside
import notifications
import old_client
import progress
import timed_push

from surge import SocketIO

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "surge-demo-change-me")
app.config["DEMO_DB"] = os.environ.get("DEMO_DB", str(Path(app.instance_path) / "notifications.sqlite3"))
socketio = SocketIO(
    app,
    message_queue=os.environ.get("SURGE_MESSAGE_QUEUE") or None,
    channel=os.environ.get("SURGE_CHANNEL", "flask-socketio"),
    metrics=importlib.util.find_spec("prometheus_client") is not None,  # /metrics, when installed
)

SCENARIOS = [notifications, timed_push, chat, progress, echo, old_client, inside]
for scenario in SCENARIOS:
    scenario.init(app, socketio)


@app.route("/")
def index():
    return render_template("index.html", scenarios=[s.ABOUT for s in SCENARIOS])


@app.route("/favicon.ico")
def favicon():
    """Where browsers look first; the pages link the same icon."""
    return app.send_static_file("favicon.svg")


if __name__ == "__main__":
    socketio.run(app, port=int(os.environ.get("PORT", "5000")))
