"""Job progress: a handler runs a long job and emits each step as it is done."""

import time

from flask import Blueprint, render_template

from surge import emit

ABOUT = {
    "url": "/progress",
    "title": "Job progress",
    "text": "Start a long job; the bar advances with every step the handler emits.",
}
bp = Blueprint("progress", __name__)


def init(app, socketio):
    app.register_blueprint(bp)

    @socketio.on("start_job", namespace="/progress")
    def start_job(data):
        steps = max(1, min(int(data.get("steps", 10)), 100))
        for step in range(1, steps + 1):
            time.sleep(float(data.get("delay", 0.4)))  # the work; a plain blocking call is fine
            emit("progress", {"step": step, "of": steps})
        return "done"


@bp.route("/progress")
def page():
    return render_template("progress.html")
