"""tests/apps/cluster_app.py's events served by socketio.run(app, workers=WORKERS) (tests/integration/test_workers.py).

``/_pid`` names the worker process that answered; ``whoami`` too, for a socket.  PORT, WORKERS
(default 2) and MESSAGE_QUEUE from the environment.
"""

import os

from cluster_app import app, socketio
from flask import request


@app.route("/_pid")
def pid():
    return str(os.getpid())


@socketio.on("whoami")
def whoami():
    return {"sid": request.sid, "pid": os.getpid()}


if __name__ == "__main__":
    socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), workers=os.environ.get("WORKERS", "2"))
