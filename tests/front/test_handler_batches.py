"""Handlers of the events read in one loop iteration run as one batch: in order, each on its own.

A WebSocket read often holds several events; the loop parses them all, then runs
their handlers.  What one event's handler or answer does wrong is that event's
error, logged, and the next events are handled as if it had not happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from surge import SocketIO
from surge.runtime.http import HttpProtocol
from surge.runtime.server import HttpServer, new_event_loop
from tests.runtime.wire import UPGRADE, FakeTransport, masked


@pytest.fixture(params=[True, False], ids=["async_handlers", "serial"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[asyncio.AbstractEventLoop, HttpServer, list[Any]]]:
    app = Flask(__name__)
    socketio = SocketIO(app, async_handlers=request.param)
    calls: list[Any] = []

    @socketio.on("async")
    async def on_async(value: str) -> Any:
        calls.append(value)
        return object() if value == "bad" else value  # an answer JSON cannot carry

    @socketio.on("sync")
    def on_sync(value: str) -> Any:
        calls.append(value)
        return object() if value == "bad" else value

    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    engine = socketio.core.start(loop)
    try:
        yield loop, HttpServer(loop, engine, None, max_connections=None), calls
    finally:
        assert socketio.core.pool is not None
        socketio.core.pool.shutdown()
        asyncio.set_event_loop(None)
        loop.close()


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_events_of_one_read_are_handled_in_order_and_a_bad_answer_stops_none(
    served: tuple[asyncio.AbstractEventLoop, HttpServer, list[Any]], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    loop, server, calls = served
    proto = HttpProtocol(server)
    transport = FakeTransport()
    proto.connection_made(transport)
    proto.data_received(UPGRADE)
    proto.data_received(masked("40"))
    loop.run_until_complete(asyncio.sleep(0.05))
    transport.written.clear()
    with caplog.at_level(logging.ERROR, logger="surge"):
        proto.data_received(b"".join(masked(f'42{i}["{kind}","{v}"]') for i, v in enumerate(["x", "bad", "y"])))
        loop.run_until_complete(asyncio.sleep(0.2))
    assert calls == ["x", "bad", "y"]
    written = bytes(transport.written)
    assert b'430["x"]' in written and b'432["y"]' in written and b"431" not in written
    assert written.index(b'430["x"]') < written.index(b'432["y"]')
    assert any("answering" in record.getMessage() for record in caplog.records)
    assert not transport.closing
