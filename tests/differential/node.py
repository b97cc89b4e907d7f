"""Node's socket.io servers of tests/peers/, the references of the differential tests."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.conftest import PEERS


class NodeServer:
    """A tests/peers/ server script in a process of its own (it prints its port)."""

    def __init__(self, script: str, opts: dict[str, Any]) -> None:
        self.proc = subprocess.Popen(["node", str(PEERS / script), json.dumps(opts)], stdout=subprocess.PIPE, cwd=PEERS)
        assert self.proc.stdout is not None
        self.port = json.loads(self.proc.stdout.readline())["port"]
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)
        assert self.proc.stdout is not None
        self.proc.stdout.close()
