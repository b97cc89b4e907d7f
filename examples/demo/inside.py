"""Inside the server: the official Socket.IO Admin UI at /admin/, and the Prometheus metrics at /metrics."""

import os

from flask import Blueprint, render_template

ABOUT = {
    "url": "/inside",
    "title": "Inside the server",
    "text": "The official Socket.IO Admin UI: every socket, room and event of this demo; and its metrics.",
}
USERNAME = "admin"
# A local demo's password, shown on its page; set DEMO_ADMIN_PASSWORD (or a bcrypt hash of one) anywhere else.
PASSWORD = os.environ.get("DEMO_ADMIN_PASSWORD", "surge-demo")
bp = Blueprint("inside", __name__)
serving = {"metrics": False}


def init(app, socketio):
    app.register_blueprint(bp)
    socketio.instrument(auth={"username": USERNAME, "password": PASSWORD})
    try:
        socketio.metrics_app()
        serving["metrics"] = True
    except ValueError:  # SocketIO(app) without metrics=True: prometheus_client is not installed
        pass


@bp.route("/inside")
def page():
    shown = PASSWORD if "DEMO_ADMIN_PASSWORD" not in os.environ else "(DEMO_ADMIN_PASSWORD)"
    return render_template("inside.html", username=USERNAME, password=shown, metrics=serving["metrics"])
