"""flask-login's current_user inside Socket.IO handlers, from the session of the connect request."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import LoginManager, UserMixin, current_user, login_user

from surge import SocketIO

app = Flask(__name__)
app.config["SECRET_KEY"] = "test"
login_manager = LoginManager(app)
socketio = SocketIO(app)


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


@login_manager.user_loader
def load_user(user_id: str) -> User:
    return User(user_id)


@app.route("/login/<name>")
def login(name: str) -> str:
    login_user(User(name))
    return "ok"


@socketio.on("connect")
def connect() -> bool:
    return bool(current_user.is_authenticated)  # anonymous users are refused


@socketio.on("whoami")
def whoami() -> Any:
    return current_user.id


def test_current_user_in_handlers() -> None:
    flask_client = app.test_client()
    flask_client.get("/login/grace")
    client = socketio.test_client(app, flask_test_client=flask_client)
    assert client.is_connected()
    assert client.emit("whoami", callback=True) == "grace"


def test_anonymous_user_is_refused() -> None:
    assert not socketio.test_client(app).is_connected()
