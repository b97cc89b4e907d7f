"""Fixtures of the runtime tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from surge.runtime.engine import EngineServer
from surge.runtime.server import HttpServer
from tests.runtime.wire import EchoApp


@pytest.fixture(scope="module")
def server() -> Iterator[HttpServer]:
    loop = asyncio.new_event_loop()
    engine = EngineServer(EchoApp(), loop, max_http_buffer_size=10_000)
    yield HttpServer(loop, engine, None, max_connections=None)
    loop.close()
