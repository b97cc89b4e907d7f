"""A typical app as a user who type-checks writes it: mypy --strict must pass against the installed Surge.

Not run: tests/install/test_installed.py type-checks it with the Python of a fresh venv.
(``request.sid`` is not on Flask's ``Request`` type, in Flask-SocketIO as here: read with getattr.)
"""

from typing import Any

from flask import Flask, request

from surge import ConnectionRefusedError, Namespace, SocketIO, emit, join_room, leave_room, rooms, send

app = Flask(__name__)
socketio = SocketIO(app, cors_allowed_origins="*")


@socketio.on("connect")
def connect(auth: dict[str, Any] | None) -> None:
    if auth is None:
        raise ConnectionRefusedError("who are you?")


@socketio.on("join")
def join(room: str) -> list[str]:
    join_room(room)
    emit("joined", {"sid": getattr(request, "sid", None)}, to=room)
    return rooms()


@socketio.on("leave")
def leave(room: str) -> None:
    leave_room(room)
    send("left", to=room)


class Chat(Namespace):
    def on_message(self, text: str) -> str:
        self.emit("echo", text)
        return text


socketio.on_namespace(Chat("/chat"))


def tick() -> None:
    while True:
        socketio.emit("tick", 1)
        socketio.sleep(1)


if __name__ == "__main__":
    socketio.start_background_task(tick)
    client = socketio.test_client(app, auth={"a": 1})
    print(client.emit("join", "r", callback=True), client.get_received())
    socketio.run(app, port=5000)
