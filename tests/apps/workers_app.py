"""tests/apps/cluster_app.py's events served by socketio.run(app, workers=WORKERS) (tests/integration/test_workers.py).

``/_pid`` names the worker process that answered; ``whoami`` too, for a socket; ``block_the_loop``
blocks a worker's event loop.  PORT, WORKERS (default 2), WORKER_TIMEOUT and the cluster app's
variables from the environment.
"""

import os
import time

from cluster_app import app, socketio
from flask import request


@app.route("/_pid")
def pid():
    return str(os.getpid())


@socketio.on("whoami")
def whoami():
    return {"sid": request.sid, "pid": os.getpid()}


@socketio.on("block_the_loop")
async def block_the_loop(seconds):
    time.sleep(seconds)  # what must never be done in an async handler: the worker's loop stops


if __name__ == "__main__":
    socketio.run(
        app,
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        workers=os.environ.get("WORKERS", "2"),
        worker_timeout=float(os.environ.get("WORKER_TIMEOUT", "30")),
    )
