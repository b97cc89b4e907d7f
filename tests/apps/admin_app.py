"""An app instrumented for the Admin UI (tests/integration/test_admin.py, tests/differential/test_admin_node.py).

tests/peers/node_admin_server.js is this app written for Node.  From the environment: PORT,
ADMIN_PASSWORD (a password or its bcrypt hash; none: auth=False), ADMIN_MODE, ADMIN_READ_ONLY=1,
MESSAGE_QUEUE and CHANNEL (a cluster), SERVER_ID.
"""

import os

from flask import Flask

from surge import SocketIO, join_room, leave_room

app = Flask(__name__)
socketio = SocketIO(
    app,
    message_queue=os.environ.get("MESSAGE_QUEUE"),
    channel=os.environ.get("CHANNEL", "flask-socketio"),
    cors_allowed_origins="*",
)
password = os.environ.get("ADMIN_PASSWORD")
socketio.instrument(
    auth={"username": "admin", "password": password} if password else False,
    mode=os.environ.get("ADMIN_MODE", "development"),
    read_only=os.environ.get("ADMIN_READ_ONLY") == "1",
    server_id=os.environ.get("SERVER_ID"),
)


@app.route("/")
def index():
    return "the app's own page"


@socketio.on("join")
def join(room):
    join_room(room)
    return room


@socketio.on("leave")
def leave(room):
    leave_room(room)
    return room


@socketio.on("to_room")
def to_room(room, text):
    socketio.emit("room_message", text, to=room)
    return True


if __name__ == "__main__":
    socketio.run(app, port=int(os.environ["PORT"]))
