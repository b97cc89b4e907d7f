"""The echo test page of the Flask-SocketIO tutorials, on Surge.

The only change from the Flask-SocketIO version is the import line.  A form emits
``my_event`` and the server answers ``my_response``; there are broadcasts, rooms,
a ping that measures latency with acks, and a background task that pushes a
counter every few seconds to everyone.

    python examples/echo/app.py        # then open http://127.0.0.1:5000
"""

import os

from flask import Flask, render_template, request, session

from surge import SocketIO, close_room, disconnect, emit, join_room, leave_room, rooms

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "change-me")
socketio = SocketIO(app)
ticker = None


def push_counter():
    """Runs in the background: every client gets every tick."""
    count = 0
    while True:
        socketio.sleep(int(os.environ.get("TICK_SECONDS", "5")))
        count += 1
        socketio.emit("my_response", {"data": "Server generated event", "count": count})


@app.route("/")
def index():
    return render_template("index.html")


@socketio.on("connect")
def connect():
    global ticker
    if ticker is None:
        ticker = socketio.start_background_task(push_counter)
    emit("my_response", {"data": "Connected", "count": 0})


@socketio.on("my_event")
def my_event(message):
    session["receive_count"] = session.get("receive_count", 0) + 1
    emit("my_response", {"data": message["data"], "count": session["receive_count"]})
    return "received"  # the client's ack callback gets this


@socketio.on("my_broadcast_event")
def my_broadcast_event(message):
    session["receive_count"] = session.get("receive_count", 0) + 1
    emit("my_response", {"data": message["data"], "count": session["receive_count"]}, broadcast=True)


@socketio.on("join")
def join(message):
    join_room(message["room"])
    emit("my_response", {"data": "In rooms: " + ", ".join(rooms()), "count": session.get("receive_count", 0)})


@socketio.on("leave")
def leave(message):
    leave_room(message["room"])
    emit("my_response", {"data": "In rooms: " + ", ".join(rooms()), "count": session.get("receive_count", 0)})


@socketio.on("close_room")
def on_close_room(message):
    emit("my_response", {"data": "Room " + message["room"] + " is closing.", "count": 0}, to=message["room"])
    close_room(message["room"])


@socketio.on("my_room_event")
def send_room_message(message):
    emit("my_response", {"data": message["data"], "count": 0}, to=message["room"])


@socketio.on("disconnect_request")
def disconnect_request():
    emit("my_response", {"data": "Disconnected!", "count": 0})
    disconnect()


@socketio.on("my_ping")
def ping_pong():
    return "pong"


@socketio.on("disconnect")
def client_gone(reason):
    print("Client disconnected", request.sid, reason)


if __name__ == "__main__":
    socketio.run(app, port=int(os.environ.get("PORT", "5000")))
