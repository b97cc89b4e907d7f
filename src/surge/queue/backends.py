"""Which transport a ``message_queue`` URL means (queue layer): Redis pub/sub or AMQP.

Each transport's library is imported only when a URL asks for it, with a clear
error naming the package to install when it is missing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Protocol

from surge.queue.outbox import Outbox

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
AMQP_SCHEMES = ("amqp://", "amqps://")
SCHEMES = REDIS_SCHEMES + AMQP_SCHEMES


class PubSub(Protocol):
    """A server's side of the queue, on its event loop."""

    outbox: Outbox  # what waits to be published

    def start(self) -> None: ...

    async def close(self) -> None: ...

    def publish(self, data: bytes) -> None: ...

    async def subscribers(self) -> int | None:
        """How many processes listen (this one included); None when the transport cannot tell."""


class Publisher(Protocol):
    """A write-only emitter's side: blocking."""

    def publish(self, data: bytes) -> None: ...


def check(url: str, streams: bool) -> None:
    """A ``message_queue`` URL (and ``redis_streams``) Surge can serve; ValueError naming what it supports."""
    if not url.startswith(SCHEMES):
        raise ValueError(f"message_queue={url!r}: unsupported scheme; Surge supports {', '.join(SCHEMES)}")
    if streams and not url.startswith(REDIS_SCHEMES):
        raise ValueError(f"redis_streams=True needs a Redis message_queue ({', '.join(REDIS_SCHEMES)}), not {url!r}")


def pubsub(url: str, channel: str, on_message: Callable[[bytes], None], streams: bool = False) -> PubSub:
    transport: PubSub
    if url.startswith(AMQP_SCHEMES):
        transport = _module("surge.queue.amqp", "aio-pika", url).AmqpPubSub(url, channel, on_message)
    elif streams:
        transport = _module("surge.queue.redis_streams", "redis", url).RedisStreams(url, channel, on_message)
    else:
        transport = _module("surge.queue.redis_pubsub", "redis", url).RedisPubSub(url, channel, on_message)
    return transport


def publisher(url: str, channel: str, streams: bool = False) -> Publisher:
    transport: Publisher
    if url.startswith(AMQP_SCHEMES):
        transport = _module("surge.queue.amqp", "aio-pika", url).AmqpPublisher(url, channel)
    else:
        module = _module("surge.queue.redis_pubsub", "redis", url)
        transport = module.RedisPublisher(url, channel, streams=streams)
    return transport


def _module(name: str, package: str, url: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        extra = "amqp" if package == "aio-pika" else "redis"
        raise ImportError(
            f"message_queue={url.split('://')[0]}://... needs the {package} package: pip install 'surge[{extra}]'"
        ) from exc
