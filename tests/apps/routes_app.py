"""Flask routes: a page, streamed responses and a failing route (PORT from the environment).

Served by socketio.run, or with ASGI_SERVER=uvicorn or hypercorn as ``socketio.asgi_app()`` under that server.
"""

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
    port = int(os.environ["PORT"])
    server = os.environ.get("ASGI_SERVER")
    if server == "uvicorn":
        import uvicorn

        uvicorn.run(socketio.asgi_app(), host="127.0.0.1", port=port, log_level="warning")
    elif server == "hypercorn":
        import asyncio

        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        asyncio.run(serve(socketio.asgi_app(), config))  # type: ignore[arg-type]
    else:
        socketio.run(app, host="127.0.0.1", port=port)
