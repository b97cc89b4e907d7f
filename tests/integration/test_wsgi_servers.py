"""Socket.IO through WSGI servers: ``flask run`` and ``gunicorn --threads``, as Flask-SocketIO apps are started.

Long-polling only (a WSGI server offers no portable WebSocket): sessions are
offered no upgrade, the official client stays on polling, and a WebSocket
request gets 400.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import APPS, ServerProcess, run_node

FLASK_RUN = """
import os, sys
from flask.cli import main
sys.argv = ["flask", "--app", {app!r}, "run", "--host", "127.0.0.1", "--port", os.environ["PORT"]]
main()
"""
GUNICORN = """
import os, sys
from gunicorn.app.wsgiapp import run
sys.argv = ["gunicorn", "--threads", "50", "--chdir", {folder!r}, "-b", "127.0.0.1:" + os.environ["PORT"], "echo_app:app"]
run()
"""


@pytest.fixture(scope="module", params=["flask run", "gunicorn --threads"])
def wsgi_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    script = tmp_path_factory.mktemp("wsgi") / "serve.py"
    if request.param == "flask run":
        script.write_text(FLASK_RUN.format(app=f"{APPS / 'echo_app.py'}:app"))
    else:
        script.write_text(GUNICORN.format(folder=str(APPS)))
    server = ServerProcess(Path(script))
    yield server
    server.stop()


def test_the_official_client_echoes_over_polling(wsgi_server: ServerProcess) -> None:
    result = run_node("echo", wsgi_server.url, 4)  # default transports: no upgrade is offered
    assert result["results"] == [True] * 12
    assert result["transport"] == "polling"


def test_server_to_client_acks_and_rooms(wsgi_server: ServerProcess) -> None:
    assert run_node("server_ack", wsgi_server.url, 4)["answer"] == ["answer to life", 42]
    assert run_node("rooms", wsgi_server.url, 4) == {"a": [{"hello": "blue"}], "b": [{"hello": "blue"}], "c": []}


def test_old_clients_and_the_flask_routes(wsgi_server: ServerProcess) -> None:
    assert run_node("echo", wsgi_server.url, 2, ["polling"])["results"] == [True] * 12
    with urllib.request.urlopen(wsgi_server.url + "/", timeout=5) as response:
        assert response.read() == b"surge test app"


def test_a_websocket_request_is_refused_with_a_warning(wsgi_server: ServerProcess) -> None:
    request = urllib.request.Request(
        wsgi_server.url + "/socket.io/?EIO=4&transport=websocket",
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZQ==",
            "Sec-WebSocket-Version": "13",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    refused.value.close()
    assert "WebSocket is not available through this WSGI server" in wsgi_server.output()
