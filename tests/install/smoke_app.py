"""The smallest app a user writes, served by the installed Surge (PORT from the environment).

Not run from the repository: tests/install/test_installed.py starts it with the Python of a
fresh venv that has only the installed wheel, so ``surge`` here is the user's copy.
"""

import os

from flask import Flask

from surge import SocketIO, emit

app = Flask(__name__)
socketio = SocketIO(app)


@socketio.on("echo")
def echo(*args):
    return args


@socketio.on("build")
def build():
    """Which build answers: the modules compiled by mypyc are extension modules."""
    import surge.protocol.sio

    return surge.protocol.sio.__file__.endswith(".so"), surge.__file__


@socketio.on("shout")
async def shout(data):
    emit("shouted", data)


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]))
