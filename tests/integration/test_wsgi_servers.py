"""Socket.IO through WSGI servers: ``flask run`` and ``gunicorn --threads``, as Flask-SocketIO apps are started.

Long-polling goes through WSGI; WebSocket takes over the socket the server
gives up (Werkzeug's, gunicorn's).  Where the server gives none (TLS terminated
by the WSGI server), sessions stay on polling and a WebSocket request gets 400
with a warning.  tests/integration/test_start_ways.py has the common session;
these are what differs under WSGI.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import APPS, ServerProcess, run_node, self_signed_certificate

FLASK_RUN = """
import os, sys
from flask.cli import main
sys.argv = ["flask", "--app", {app!r}, "run", "--port", os.environ["PORT"], *{extra!r}]
main()
"""
GUNICORN = """
import os, sys
from gunicorn.app.wsgiapp import run
sys.argv = ["gunicorn", *{extra!r}, "--chdir", {folder!r}, "-b", "127.0.0.1:" + os.environ["PORT"], "echo_app:app"]
run()
"""
APP = f"{APPS / 'echo_app.py'}:app"


def serve(folder: Path, code: str) -> ServerProcess:
    script = folder / "serve.py"
    script.write_text(code)
    return ServerProcess(script)


@pytest.fixture(scope="module", params=["flask run", "flask run --debug", "gunicorn --threads"])
def wsgi_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("wsgi")
    if request.param == "gunicorn --threads":
        server = serve(folder, GUNICORN.format(extra=["--threads", "50"], folder=str(APPS)))
    else:
        server = serve(folder, FLASK_RUN.format(app=APP, extra=request.param.split()[2:]))
    yield server
    server.stop()


@pytest.mark.parametrize("version", [4, 2])
@pytest.mark.parametrize("transports", [None, ["websocket"]], ids=["upgrade", "websocket"])
def test_official_clients_on_a_taken_over_websocket(
    wsgi_server: ServerProcess, version: int, transports: list[str] | None
) -> None:
    result = run_node("echo", wsgi_server.url, version, transports)
    assert result["results"] == [True] * 12
    assert result["transport"] == "websocket"


def test_server_to_client_acks_disconnect_and_routes(wsgi_server: ServerProcess) -> None:
    assert run_node("server_ack", wsgi_server.url, 4, ["websocket"])["answer"] == ["answer to life", 42]
    assert run_node("server_disconnect", wsgi_server.url, 4, ["websocket"])["reason"] == "io server disconnect"
    with urllib.request.urlopen(wsgi_server.url + "/", timeout=5) as response:
        assert response.read() == b"surge test app"
    # The WebSockets ended without a traceback or a second answer written by the server or the debugger.
    output = wsgi_server.output()
    assert "Traceback" not in output
    assert "Error" not in output


def test_tls_in_the_wsgi_server_stays_on_polling_and_warns(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    server = serve(tmp_path, FLASK_RUN.format(app=APP, extra=["--cert", str(cert), "--key", str(key)]))
    url = f"https://127.0.0.1:{server.port}"
    try:
        result = run_node("echo", url, 4, insecure=True)  # no upgrade is offered
        assert result["results"] == [True] * 12
        assert result["transport"] == "polling"
        request = urllib.request.Request(
            url + "/socket.io/?EIO=4&transport=websocket",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZQ==",
                "Sec-WebSocket-Version": "13",
            },
        )
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5, context=context)
        assert refused.value.code == 400
        refused.value.close()
        assert "WebSocket is not available through this WSGI server" in server.output()
    finally:
        server.stop()


def test_a_server_of_one_request_at_a_time_is_named_in_a_warning(tmp_path: Path) -> None:
    server = serve(tmp_path, GUNICORN.format(extra=[], folder=str(APPS)))  # gunicorn's sync worker
    try:
        assert run_node("echo", server.url, 4, ["websocket"])["results"] == [True] * 12
        assert "runs one request at a time" in server.output()
    finally:
        server.stop()
