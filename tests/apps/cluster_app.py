"""One Surge process of a cluster sharing rooms through Redis (REDIS_URL, CHANNEL from the environment)."""

import os

from flask import Flask, request

from surge import SocketIO, emit, join_room

app = Flask(__name__)
socketio = SocketIO(app, message_queue=os.environ["REDIS_URL"], channel=os.environ["CHANNEL"], logger=True)


@socketio.on("join")
def join(room):
    join_room(room)
    return request.sid


@socketio.on("to_room")
def to_room(room, data):
    emit("room_message", data, to=room)


@socketio.on("dm")
def dm(sid, data):
    emit("dm", {"from": request.sid, "data": data}, to=sid)


@socketio.on("put_in_room")
def put_in_room(sid, room):
    join_room(room, sid=sid)  # sid may be a client of another process


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]))
