"""HTTPS and WSS from the built-in server: socketio.run(app, certfile=, keyfile=) with the official clients."""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import socketio as python_socketio

from tests.conftest import APPS, ServerProcess, run_node, self_signed_certificate


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("tls"))
    server = ServerProcess(APPS / "echo_app.py", {"CERTFILE": str(cert), "KEYFILE": str(key)})
    yield server, f"https://127.0.0.1:{server.port}"
    server.stop()


def insecure() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_flask_routes_over_https(tls_server: tuple[ServerProcess, str]) -> None:
    _, url = tls_server
    with urllib.request.urlopen(url + "/", context=insecure(), timeout=5) as response:
        assert response.read() == b"surge test app"


@pytest.mark.parametrize("transports", [None, ["websocket"], ["polling"]], ids=["upgrade", "wss", "polling"])
def test_official_client_echoes_over_tls(tls_server: tuple[ServerProcess, str], transports: list[str] | None) -> None:
    _, url = tls_server
    result = run_node("echo", url, 4, transports, insecure=True)
    assert result["results"] == [True] * 12
    assert result["transport"] == ("polling" if transports == ["polling"] else "websocket")


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")  # the test's own self-signed certificate
def test_python_client_over_https_polling(
    tls_server: tuple[ServerProcess, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over wss, python-socketio's client (websocket-client) sometimes holds its first emit
    # until it next reads, whatever the server: the official clients above cover WSS.
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would override ssl_verify=False in requests
        monkeypatch.delenv(name, raising=False)
    _, url = tls_server
    client = python_socketio.Client(ssl_verify=False)
    client.connect(url, transports=["polling"], wait_timeout=5)
    try:
        assert client.call("echo", "secure", timeout=5) == "secure"
    finally:
        client.disconnect()


def test_a_plain_http_request_to_the_tls_port_is_not_served(tls_server: tuple[ServerProcess, str]) -> None:
    server, _ = tls_server
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/", timeout=5).read()


def test_bad_tls_arguments_fail_at_once(tmp_path: Path) -> None:
    from surge.options import tls_context

    with pytest.raises(ValueError, match="certfile"):
        tls_context(keyfile="key.pem")
    with pytest.raises(FileNotFoundError):
        tls_context(certfile=str(tmp_path / "missing.pem"))
    assert tls_context() is None
