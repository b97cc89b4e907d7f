"""The Engine.IO session state machine, driven with explicit time."""

from __future__ import annotations

import json

import pytest

from surge.engine.constants import Transport
from surge.engine.session import EngineSession, MessageReceived, SessionClosed, State
from surge.protocol.eio import EioPacket, EioType
from surge.protocol.errors import RemoteProtocolError

PING, PONG, MSG = EioType.PING, EioType.PONG, EioType.MESSAGE


def new(version: int = 4, transport: str = "polling", **kw: float) -> EngineSession:
    return EngineSession(
        "sid1",
        version,
        transport=Transport(transport),
        now=0.0,
        ping_interval=kw.get("interval", 25.0),
        ping_timeout=kw.get("timeout", 20.0),
    )


def test_handshake_reports_sub_second_intervals_exactly_in_ms() -> None:
    session = new(interval=0.3, timeout=0.25)
    info = json.loads(session.open_packet(["websocket"]).data)
    assert info == {
        "sid": "sid1",
        "upgrades": ["websocket"],
        "pingInterval": 300,
        "pingTimeout": 250,
        "maxPayload": 1_000_000,
    }
    assert "maxPayload" not in json.loads(new(3).open_packet([]).data)


def test_v4_server_pings_and_drops_a_silent_client() -> None:
    session = new(interval=25, timeout=20)
    assert session.next_deadline() == 25
    session.on_timer(25)
    assert session.packets_to_send() == [EioPacket(PING)]
    assert session.next_deadline() == 45
    session.on_timer(45)
    assert session.state is State.CLOSED
    assert session.events_received() == [SessionClosed("ping timeout")]


def test_v4_pong_resets_the_heartbeat() -> None:
    session = new(interval=25, timeout=20)
    session.on_timer(25)
    session.receive_packet(EioPacket(PONG), now=30)
    assert session.next_deadline() == 55
    session.on_timer(45)
    assert session.state is State.OPEN


def test_v3_client_pings_and_server_answers() -> None:
    session = new(3, interval=25, timeout=20)
    session.receive_packet(EioPacket(PING, "x"), now=10)
    assert session.packets_to_send() == [EioPacket(PONG, "x")]
    assert session.next_deadline() == 55
    session.on_timer(54.9)
    assert session.state is State.OPEN
    session.on_timer(55)
    assert session.events_received() == [SessionClosed("ping timeout")]


def test_messages_become_events() -> None:
    session = new()
    session.receive_packet(EioPacket(MSG, "hello"), now=1)
    session.receive_packet(EioPacket(MSG, b"\x00"), now=1)
    assert session.events_received() == [MessageReceived("hello"), MessageReceived(b"\x00")]


def test_client_close_packet() -> None:
    session = new()
    session.receive_packet(EioPacket(EioType.CLOSE), now=1)
    assert session.events_received() == [SessionClosed("client disconnect")]


@pytest.mark.parametrize("ptype", [EioType.OPEN, EioType.UPGRADE])
def test_unexpected_packet_types_are_refused(ptype: EioType) -> None:
    with pytest.raises(RemoteProtocolError):
        new().receive_packet(EioPacket(ptype), now=1)


def test_one_pending_poll_at_a_time() -> None:
    session = new()
    session.packets_to_send()
    assert session.start_poll() is False
    with pytest.raises(RemoteProtocolError):
        session.start_poll()
    assert session.events_received() == [SessionClosed("transport error")]


def test_poll_answers_at_once_when_something_is_queued() -> None:
    session = new()
    session.send(EioPacket(MSG, "x"))
    assert session.start_poll() is True


def test_upgrade_probe_then_upgrade() -> None:
    session = new()
    session.packets_to_send()
    assert session.start_poll() is False
    assert session.receive_probe(EioPacket(PING, "probe")) == EioPacket(PONG, "probe")
    assert session.packets_to_send() == [EioPacket(EioType.NOOP)]  # releases the pending GET
    session.send(EioPacket(MSG, "queued"))
    session.receive_upgrade()
    assert session.transport == "websocket"
    assert session.packets_to_send() == [EioPacket(MSG, "queued")]


def test_upgrade_without_probe_is_refused() -> None:
    with pytest.raises(RemoteProtocolError):
        new().receive_upgrade()
    with pytest.raises(RemoteProtocolError):
        new().receive_probe(EioPacket(PING, "nope"))


def test_server_close_of_a_polling_session_waits_for_the_client_to_collect_it() -> None:
    session = new()
    session.packets_to_send()
    session.send(EioPacket(MSG, "bye"))
    session.close("server disconnect", now=5)
    assert session.state is State.CLOSING
    assert session.start_poll() is True
    assert session.packets_to_send() == [EioPacket(MSG, "bye"), EioPacket(EioType.CLOSE)]
    assert session.events_received() == [SessionClosed("server disconnect")]


def test_closing_session_gives_up_after_ping_timeout() -> None:
    session = new(timeout=20)
    session.packets_to_send()
    session.send(EioPacket(MSG, "bye"))
    session.close("server disconnect", now=5)
    session.on_timer(25)
    assert session.state is State.CLOSED


def test_server_close_with_a_pending_poll_is_immediate() -> None:
    session = new()
    session.packets_to_send()
    session.start_poll()
    session.close()
    assert session.state is State.CLOSED
    assert session.packets_to_send() == [EioPacket(EioType.CLOSE)]


def test_polls_during_an_upgrade_are_answered_at_once() -> None:
    session = new()
    session.packets_to_send()
    session.receive_probe(EioPacket(PING, "probe"))
    session.packets_to_send()  # the NOOP went to the GET that was pending
    assert session.start_poll() is True  # a GET that raced the 3probe is not parked
    assert session.packets_to_send() == []  # the runtime answers it with a NOOP
