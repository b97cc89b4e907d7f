"""/socket.io/socket.io.js: the official client from node_modules, or a 404 that says how to provide it."""

from __future__ import annotations

import http.client
from pathlib import Path

from tests.conftest import ServerProcess

APP = """
import os
from flask import Flask
from surge import SocketIO

app = Flask(__name__)
socketio = SocketIO(app)
socketio.run(app, port=int(os.environ["PORT"]))
"""


def get(server: ServerProcess, path: str, **headers: str) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body, {k.lower(): v for k, v in response.getheaders()}


def test_served_from_node_modules_with_an_etag(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)
    server = ServerProcess(script, cwd=Path(__file__).parents[2])  # the repository, with node_modules
    try:
        status, body, headers = get(server, "/socket.io/socket.io.js")
        assert status == 200 and headers["content-type"].startswith("application/javascript")
        assert b"socket.io" in body.lower() and len(body) > 10_000
        assert get(server, "/socket.io/socket.io.js", **{"If-None-Match": headers["etag"]})[0] == 304
    finally:
        server.stop()


def test_missing_file_is_a_clear_404_and_a_startup_warning(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text(APP)
    server = ServerProcess(script, cwd=tmp_path)  # no node_modules above it
    try:
        status, body, _ = get(server, "/socket.io/socket.io.js")
        assert status == 404 and b"npm install socket.io-client" in body
    finally:
        server.stop()
    assert "WARNING" in server.output() and "npm install socket.io-client" in server.output()
