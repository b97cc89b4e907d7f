"""The official socket.io-client (4.x, 2.x, 1.x) under Node against a real Surge server."""

from __future__ import annotations

import time

import pytest

from tests.conftest import ServerProcess, run_node

VERSIONS = [4, 2, 1]
# How the client reaches the server: polling then upgrade (the default), WebSocket only, polling only.
MODES = {"upgrade": (None, "websocket"), "websocket": (["websocket"], "websocket"), "polling": (["polling"], "polling")}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("version", VERSIONS)
def test_echo_with_ack_round_trips_every_kind_of_value(echo_server: ServerProcess, version: int, mode: str) -> None:
    transports, final = MODES[mode]
    result = run_node("echo", echo_server.url, version, transports)
    assert result["results"] == [True] * len(result["results"]) and len(result["results"]) == 12
    assert result["transport"] == final


@pytest.mark.parametrize("version", VERSIONS)
def test_two_namespaces_share_one_connection(echo_server: ServerProcess, version: int) -> None:
    result = run_node("namespaces", echo_server.url, version)
    assert result["sameEngine"] is True
    assert result["mainEcho"] == ["main"]
    assert result["chatEcho"] == [["chat", "x", 2]]
    assert result["chatWelcome"] == {"namespace": "/chat"}


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("version", VERSIONS)
def test_server_to_client_emit_with_callback_fires(echo_server: ServerProcess, version: int, mode: str) -> None:
    result = run_node("server_ack", echo_server.url, version, MODES[mode][0])
    assert result["answer"] == ["answer to life", 42]


@pytest.mark.parametrize("version", VERSIONS)
def test_emit_in_connect_handler_reaches_client(echo_server: ServerProcess, version: int) -> None:
    result = run_node("welcome", echo_server.url, version)
    assert result["welcome"]["auth"] is None
    assert isinstance(result["welcome"]["sid"], str)


@pytest.mark.parametrize("version", VERSIONS)
def test_client_disconnect_reaches_the_disconnect_handler(echo_server: ServerProcess, version: int) -> None:
    sid = run_node("client_disconnect", echo_server.url, version)["sid"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entries = [e for e in echo_server.get_json("/_log") if e.get("sid") == sid]
        if entries:
            break
        time.sleep(0.05)
    assert entries == [{"event": "disconnect", "namespace": "/", "sid": sid, "reason": "client disconnect"}]


@pytest.mark.parametrize("version", VERSIONS)
def test_server_disconnect_reaches_the_client(echo_server: ServerProcess, version: int) -> None:
    assert run_node("server_disconnect", echo_server.url, version)["reason"] == "io server disconnect"


def test_refused_connection_carries_message_and_data(echo_server: ServerProcess) -> None:
    result = run_node("refused", echo_server.url, 4)
    assert result == {"message": "refused by test", "data": {"why": "nope"}}


@pytest.mark.parametrize("version", VERSIONS)
def test_unknown_namespace_is_refused(echo_server: ServerProcess, version: int) -> None:
    assert run_node("invalid_namespace", echo_server.url, version)["refusal"] == "Invalid namespace"


@pytest.mark.parametrize("version", VERSIONS)
def test_room_broadcast_reaches_members_only(echo_server: ServerProcess, version: int) -> None:
    got = run_node("rooms", echo_server.url, version)
    assert got == {"a": [{"hello": "blue"}], "b": [{"hello": "blue"}], "c": []}
