"""The echo test page written with a class-based namespace and error handlers, on Surge.

Same page and events as app.py; the handlers are methods of a ``Namespace``
class, and errors in them go to ``on_error`` handlers, as in the Flask-SocketIO
tutorials.  Only the import line differs from the Flask-SocketIO version.

    python examples/echo/app_namespace.py      # then open http://127.0.0.1:5000
"""

import os

from flask import Flask, render_template, request, session

from surge import Namespace, SocketIO, close_room, disconnect, emit, join_room, leave_room, rooms

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "change-me")
socketio = SocketIO(app)


@app.route("/")
def index():
    return render_template("index.html")


class EchoNamespace(Namespace):
    def on_connect(self):
        emit("my_response", {"data": "Connected", "count": 0})

    def on_my_event(self, message):
        session["receive_count"] = session.get("receive_count", 0) + 1
        emit("my_response", {"data": message["data"], "count": session["receive_count"]})
        return "received"

    def on_my_broadcast_event(self, message):
        session["receive_count"] = session.get("receive_count", 0) + 1
        emit("my_response", {"data": message["data"], "count": session["receive_count"]}, broadcast=True)

    def on_join(self, message):
        join_room(message["room"])
        emit("my_response", {"data": "In rooms: " + ", ".join(rooms()), "count": session.get("receive_count", 0)})

    def on_leave(self, message):
        leave_room(message["room"])
        emit("my_response", {"data": "In rooms: " + ", ".join(rooms()), "count": session.get("receive_count", 0)})

    def on_close_room(self, message):
        emit("my_response", {"data": "Room " + message["room"] + " is closing.", "count": 0}, to=message["room"])
        close_room(message["room"])

    def on_my_room_event(self, message):
        emit("my_response", {"data": message["data"], "count": 0}, to=message["room"])

    def on_disconnect_request(self):
        emit("my_response", {"data": "Disconnected!", "count": 0})
        disconnect()

    def on_my_ping(self):
        return "pong"

    def on_disconnect(self, reason):
        print("Client disconnected", request.sid, reason)


socketio.on_namespace(EchoNamespace("/"))


@socketio.on_error()
def error_handler(exc):
    """Errors in handlers of the default namespace: tell the sender what went wrong."""
    emit("my_response", {"data": f"Error in {request.event['message']}: {exc}", "count": 0})


@socketio.on_error_default
def default_error_handler(exc):
    print("Socket.IO error:", request.event, exc)


if __name__ == "__main__":
    socketio.run(app, port=int(os.environ.get("PORT", "5000")))
