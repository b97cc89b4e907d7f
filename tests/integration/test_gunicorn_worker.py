"""gunicorn -k surge.workers.SurgeWorker: binds, reloads and stops as gunicorn's own workers do."""

from __future__ import annotations

import http.client
import os
import signal
import socket
from pathlib import Path

from websockets.sync.client import connect

from tests.conftest import APPS, ServerProcess, run_node, self_signed_certificate

GUNICORN = """
import os, sys
from gunicorn.app.wsgiapp import run
sys.argv = ["gunicorn", "-k", "surge.workers.SurgeWorker", "--chdir", {folder!r}, "-b", "127.0.0.1:" + os.environ["PORT"],
            *{extra!r}, {app!r}]
run()
"""


def serve(tmp: Path, extra: list[str], app: str = "echo_app:app") -> ServerProcess:
    script = tmp / "serve.py"
    script.write_text(GUNICORN.format(folder=str(APPS), extra=extra, app=app))
    return ServerProcess(script)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=5)
        self.path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def test_tcp_and_unix_binds_serve_socketio_and_the_routes(tmp_path: Path) -> None:
    path = tmp_path / "surge.sock"
    server = serve(tmp_path, ["-b", f"unix:{path}"])
    try:
        server.wait_output("Surge serving")
        assert run_node("echo", server.url, 4, ["websocket"])["results"] == [True] * 12
        for target, expected in (("/socket.io/?EIO=4&transport=polling", b'0{"sid":'), ("/", b"surge test app")):
            connection = UnixConnection(path)
            try:
                connection.request("GET", target)
                assert connection.getresponse().read().startswith(expected)
            finally:
                connection.close()
    finally:
        server.stop()


def test_hup_replaces_the_worker_and_term_stops_gracefully(tmp_path: Path) -> None:
    server = serve(tmp_path, [])
    try:
        server.wait_output("Surge serving")
        os.kill(server.proc.pid, signal.SIGHUP)  # the master: a new worker, the old one stopped gracefully
        server.wait_output("Surge serving", 2)
        server.wait_output("Worker exiting")
        assert run_node("echo", server.url, 4)["results"] == [True] * 12
        os.kill(server.proc.pid, signal.SIGTERM)
        assert server.proc.wait(15) == 0
        assert "Traceback" not in server.output()
    finally:
        server.stop()


def test_several_workers_stop_cleanly_on_term(tmp_path: Path) -> None:
    """The workers' bus (surge.queue.peer_bus) closes its connections: no task is left pending."""
    server = serve(tmp_path, ["-w", "2"])
    try:
        server.wait_output("Surge serving", 2)
        for _ in range(3):  # a room emit goes to the other worker over the bus: they connect to each other
            result = run_node("matrix", server.url, 4, urls=[server.url, server.url, server.url])
            assert result["got"] == [[{"hello": "all"}]] * 3, result
        os.kill(server.proc.pid, signal.SIGTERM)
        assert server.proc.wait(15) == 0
        output = server.output()
        assert "Task was destroyed" not in output and "Traceback" not in output, output
    finally:
        server.stop()


def test_a_missing_socket_io_js_is_said_once_for_all_the_workers(tmp_path: Path) -> None:
    (tmp_path / "plain_app.py").write_text(PLAIN_APP)
    script = tmp_path / "serve.py"
    script.write_text(GUNICORN.format(folder=str(tmp_path), extra=["-w", "2"], app="plain_app:app"))
    server = ServerProcess(script, cwd=tmp_path)
    try:
        server.wait_output("Surge serving", 2)
        assert server.output().count("No socket.io.js to serve") == 1, server.output()
    finally:
        server.stop()


PLAIN_APP = """
from flask import Flask
from surge import SocketIO

app = Flask(__name__)
socketio = SocketIO(app)
"""


BLOCKING_APP = """
import time
from flask import Flask
from surge import SocketIO

app = Flask(__name__)
socketio = SocketIO(app)


@socketio.on("block")
async def block():
    time.sleep(30)  # on the event loop: nothing else runs, the worker stops telling the master it lives
"""


def test_a_blocked_loop_gets_the_worker_replaced_after_the_timeout(tmp_path: Path) -> None:
    (tmp_path / "blocking_app.py").write_text(BLOCKING_APP)
    script = tmp_path / "serve.py"
    script.write_text(GUNICORN.format(folder=str(tmp_path), extra=["--timeout", "2"], app="blocking_app:app"))
    server = ServerProcess(script)
    try:
        server.wait_output("Surge serving")
        with connect(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", open_timeout=5) as ws:
            assert ws.recv(timeout=5).startswith("0{")
            ws.send("40")
            assert ws.recv(timeout=5).startswith("40{")
            ws.send('42["block"]')
            server.wait_output("WORKER TIMEOUT")
        server.wait_output("Surge serving", 2)  # a new worker
        with connect(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", open_timeout=5) as ws:
            assert ws.recv(timeout=5).startswith("0{")
    finally:
        server.stop()


def test_several_workers_over_gunicorns_tls_say_they_cannot_pass_sessions(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server = serve(tmp_path, ["-w", "2", "--certfile", str(cert), "--keyfile", str(key)])
    try:
        server.wait_output("a TLS connection cannot be passed to the worker that owns its session", 2)
    finally:
        server.stop()
