"""Timed push: a background task emits a random number to every client of /test_conn."""

import os
import random

from flask import Blueprint, render_template

ABOUT = {
    "url": "/push",
    "title": "Timed push",
    "text": "A background task pushes a number every few seconds; a live chart of the last values.",
}
bp = Blueprint("timed_push", __name__)
state = {"task": None}


def init(app, socketio):
    app.register_blueprint(bp)
    interval = float(os.environ.get("DEMO_TICK", "2"))

    def push_numbers():
        while True:
            socketio.sleep(interval)
            socketio.emit("number", {"value": round(random.random() * 100, 1)}, namespace="/test_conn")

    @socketio.on("connect", namespace="/test_conn")
    def connect():
        if state["task"] is None:  # started by the first visitor, as in the tutorials
            state["task"] = socketio.start_background_task(push_numbers)


@bp.route("/push")
def page():
    return render_template("push.html")
