"""cors_allowed_origins: same origin by default, a list, a callable or '*'; lookalikes refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from surge.runtime.engine import EngineServer
from surge.runtime.request import Request


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def allowed(loop: asyncio.AbstractEventLoop, setting: Any, origin: str, host: str = "example.com:5000") -> bool:
    engine = EngineServer(None, loop, cors_allowed_origins=setting)  # type: ignore[arg-type]
    request = Request()
    request.headers = [("host", host), ("origin", origin)]
    return engine.origin_allowed(origin, request, lambda _: {"HTTP_HOST": host})


@pytest.mark.parametrize(
    ("origin", "ok"),
    [
        ("http://example.com:5000", True),
        ("https://example.com:5000", True),
        ("http://example.com:5000.evil.net", False),
        ("http://evil-example.com:5000", False),
        ("http://example.com", False),
        ("null", False),
        ("javascript://example.com:5000", False),
    ],
)
def test_same_origin_by_default(loop: asyncio.AbstractEventLoop, origin: str, ok: bool) -> None:
    assert allowed(loop, None, origin) is ok


def test_list_is_exact(loop: asyncio.AbstractEventLoop) -> None:
    setting = ["https://app.example.com", "http://localhost:3000"]
    assert allowed(loop, setting, "https://app.example.com")
    assert not allowed(loop, setting, "https://app.example.com.evil.net")
    assert not allowed(loop, setting, "http://app.example.com")


def test_callable_and_star(loop: asyncio.AbstractEventLoop) -> None:
    assert allowed(loop, lambda origin: origin.endswith(".trusted.org"), "https://a.trusted.org")
    assert not allowed(loop, lambda origin: origin.endswith(".trusted.org"), "https://trusted.org.evil")
    assert allowed(loop, "*", "https://anything.example")
    assert allowed(loop, ["*"], "https://anything.example")


def test_callable_of_origin_and_environ_as_python_engineio_calls_it(loop: asyncio.AbstractEventLoop) -> None:
    def check(origin: str, environ: dict[str, Any]) -> bool:
        return origin == "https://" + environ["HTTP_HOST"]

    assert allowed(loop, check, "https://example.com:5000")
    assert not allowed(loop, check, "https://other.example")


def test_empty_list_turns_cors_handling_off(loop: asyncio.AbstractEventLoop) -> None:
    # python-engineio: cors_allowed_origins=[] disables the check (and the CORS headers).
    assert allowed(loop, [], "https://anywhere.example")


def test_a_refused_origin_is_logged_at_warning_once_then_at_info(
    loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    from surge.runtime.cors import Cors

    cors = Cors(["http://good.example"])
    request = Request()
    with caplog.at_level("INFO", logger="surge.engine"):
        for origin in ("http://evil.example", "http://evil.example", "http://good.example", "http://other.example"):
            cors.origin_allowed(origin, request, lambda _: {})
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "http://evil.example is not an accepted origin"),
        ("INFO", "http://evil.example is not an accepted origin"),
        ("WARNING", "http://other.example is not an accepted origin"),
    ]
