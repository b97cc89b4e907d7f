"""Flask routes: a page, streamed responses and a failing route (PORT from the environment).

Served by socketio.run; with FRONT=surge by the surge command; with FRONT=gunicorn by gunicorn's
SurgeWorker; with FRONT=asgi as ``socketio.asgi_app()`` under uvicorn, or hypercorn with
ASGI_SERVER=hypercorn.
"""

import os
import sys
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
    port = int(os.environ["PORT"])
    front = os.environ.get("FRONT")
    if front == "asgi":
        from asgi_serve import serve  # ASGI_SERVER: uvicorn or hypercorn

        serve(socketio.asgi_app(), port)
    elif front == "gunicorn":
        from gunicorn.app.wsgiapp import run

        here = os.path.dirname(os.path.abspath(__file__))
        sys.argv = ["gunicorn", "-k", "surge.workers.SurgeWorker", "--chdir", here, "-b", f"127.0.0.1:{port}"]
        sys.argv.append("routes_app:app")
        run()
    elif front == "surge":
        from surge.cli import main

        main(["routes_app:app", "--port", str(port)])
    else:
        socketio.run(app, host="127.0.0.1", port=port)
