"""Ctrl-C (SIGINT) and SIGTERM stop the server cleanly: connections are closed, the process exits 0."""

from __future__ import annotations

import signal

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import APPS, ServerProcess


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_closes_sessions_and_exits_zero(sig: signal.Signals) -> None:
    server = ServerProcess(APPS / "echo_app.py")
    try:
        with connect(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket", open_timeout=5) as ws:
            assert ws.recv(timeout=5).startswith("0{")
            ws.send("40")
            assert ws.recv(timeout=5).startswith("40{")
            server.proc.send_signal(sig)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000  # a clean close, not a reset
        assert server.proc.wait(10) == 0
    finally:
        server.stop()
