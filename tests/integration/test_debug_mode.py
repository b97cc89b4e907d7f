"""socketio.run(app, debug=True): the reloader restarts the server on a code change, and
the Flask debugger answers errors in HTTP routes, as with Flask-SocketIO."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import ServerProcess

APP = """
import os
from flask import Flask
from surge import SocketIO

app = Flask(__name__)
socketio = SocketIO(app)


@app.route("/")
def index():
    return "VERSION"


@app.route("/fail")
def fail():
    raise RuntimeError("debug me")


if __name__ == "__main__":
    socketio.run(app, port=int(os.environ["PORT"]), debug=True, reloader_options={"reloader_type": "stat"})
"""


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def test_reloader_and_debugger(tmp_path: Path) -> None:
    script = tmp_path / "debug_app.py"
    script.write_text(APP.replace("VERSION", "one"))
    server = ServerProcess(script)
    try:
        assert get(server.url + "/") == (200, "one")
        status, body = get(server.url + "/fail")
        assert status == 500 and "RuntimeError: debug me" in body and "Werkzeug Debugger" in body
        time.sleep(1.1)  # the stat reloader compares modification times
        script.write_text(APP.replace("VERSION", "two"))
        deadline = time.monotonic() + 15
        while get(server.url + "/") != (200, "two"):
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.2)
    finally:
        server.stop()
