"""The benchmark app as one process of a Redis cluster (REDIS_URL, CHANNEL, PORT from the environment)."""

import logging
import os

from flask import Flask

from surge import SocketIO, emit, join_room

app = Flask(__name__)
socketio = SocketIO(app, message_queue=os.environ["REDIS_URL"], channel=os.environ["CHANNEL"])
logging.getLogger("surge").setLevel(logging.ERROR)


@socketio.on("join")
async def join(*args):
    join_room("r")


@socketio.on("bcast")
async def bcast(data):
    emit("msg", data, to="r")


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]))
