"""Flask routes served by socketio.run: a page, streamed responses and a failing route (PORT from the environment)."""

import os
import threading

from flask import Flask, Response

from surge import SocketIO

app = Flask(__name__)
socketio = SocketIO(app)
released = threading.Event()
produced = {"big": 0}  # bytes /big has produced so far
CHUNK = 64 * 1024
BIG = 1024 * CHUNK  # 64 MiB: far more than the socket buffers and the server's hand-over allowance


@app.route("/page")
def page():
    return "hello"


@app.route("/held")
def held():
    """A stream whose second chunk waits for /release: the first must reach the client before."""

    def chunks():
        yield b"first;"
        released.wait(20)
        yield b"second"

    released.clear()
    return Response(chunks(), mimetype="text/plain")


@app.route("/release")
def release():
    released.set()
    return "released"


@app.route("/big")
def big():
    def chunks():
        produced["big"] = 0
        for i in range(BIG // CHUNK):
            produced["big"] += CHUNK
            yield bytes([i % 256]) * CHUNK

    return Response(chunks(), mimetype="application/octet-stream")


@app.route("/produced")
def get_produced():
    return str(produced["big"])


@app.route("/fail")
def fail():
    raise RuntimeError("this route fails")


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]))
