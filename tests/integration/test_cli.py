"""The ``surge`` command serves an app given as module:app or as a file, over HTTP or HTTPS."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import APPS, ServerProcess, run_node, self_signed_certificate

RUNNER = """
import os, sys
from surge.cli import main
main(sys.argv[1:] + ["--port", os.environ["PORT"]])
"""


def test_a_file_with_its_socketio_is_served(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(RUNNER.replace("sys.argv[1:]", repr([f"{APPS / 'echo_app.py'}:app"])))
    server = ServerProcess(script)
    try:
        result = run_node("echo", server.url, 4, ["websocket"])
        assert result["results"] == [True] * 12
    finally:
        server.stop()


def test_certfile_and_keyfile_serve_wss(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    args = [f"{APPS / 'echo_app.py'}:app", "--certfile", str(cert), "--keyfile", str(key)]
    script = tmp_path / "run.py"
    script.write_text(RUNNER.replace("sys.argv[1:]", repr(args)))
    server = ServerProcess(script)
    try:
        result = run_node("echo", f"https://127.0.0.1:{server.port}", 4, ["websocket"], insecure=True)
        assert result["results"] == [True] * 12
        assert "on https://127.0.0.1" in server.output()
    finally:
        server.stop()


def test_workers_auto_serves_from_one_worker_per_core(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(RUNNER.replace("sys.argv[1:]", repr([f"{APPS / 'workers_app.py'}:app", "--workers", "auto"])))
    server = ServerProcess(script)
    try:
        server.wait_output(f"with {os.cpu_count()} workers")
        for polling in (["polling"], ["websocket"]):
            assert run_node("echo", server.url, 4, polling)["results"] == [True] * 12
    finally:
        server.stop()


def test_a_bad_workers_value_is_refused_at_once(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text(RUNNER.replace("sys.argv[1:]", repr([f"{APPS / 'echo_app.py'}:app", "--workers", "many"])))
    with pytest.raises(RuntimeError, match="a number of processes"):
        ServerProcess(script)


def test_a_port_in_use_is_one_sentence_and_exit_status_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        script = tmp_path / "run.py"
        script.write_text(RUNNER.replace("sys.argv[1:]", repr([f"{APPS / 'echo_app.py'}:app"])))
        run = subprocess.run(
            [sys.executable, str(script)], env=dict(os.environ, PORT=str(port)), capture_output=True, text=True
        )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"Port {port} on 127.0.0.1 is in use by another program: stop that program, or run the server on"
        " another port (socketio.run(app, port=...), or surge --port)."
    ]
