"""The echo test page: a form emits my_event, the server answers my_response and acks."""

from flask import Blueprint, render_template, session

from surge import emit

ABOUT = {
    "url": "/echo",
    "title": "Echo test",
    "text": "The classic test page: emit my_event, get my_response and an ack.",
}
bp = Blueprint("echo", __name__)


def init(app, socketio):
    app.register_blueprint(bp)

    @socketio.on("my_event", namespace="/echo")
    def my_event(message):
        session["receive_count"] = session.get("receive_count", 0) + 1
        emit("my_response", {"data": message.get("data"), "count": session["receive_count"]})
        return {"received": message.get("data")}

    @socketio.on("my_ping", namespace="/echo")
    def my_ping():
        return "pong"


@bp.route("/echo")
def page():
    return render_template("echo.html")
