"""AMQP (RabbitMQ) between Surge processes (queue layer): ``message_queue="amqp://..."``, through aio-pika.

aio-pika runs on the server's own event loop (kombu, Flask-SocketIO's AMQP
library, is blocking: it needs a thread per direction, and carried 0.74x the
messages in ``bench/amqp_clients.py``).  The layout is python-socketio's
``KombuManager``'s, so Flask-SocketIO processes can share the channel: a
non-durable fanout exchange named after the channel, and a queue per process
that the broker deletes 5 minutes after its last consumer left.  The queue
outlives a dropped connection, so what was sent meanwhile arrives once this
process is back (as long as the broker itself stayed up).  Bodies are JSON
strings serialised once more as JSON (``application/json``), which is what
kombu's default serializer makes of python-socketio's messages.

:class:`AmqpPubSub` has :class:`~surge.queue.redis_pubsub.RedisPubSub`'s
interface and buffering; :class:`AmqpPublisher` is the blocking publisher of a
write-only emitter, which runs aio-pika on a private loop thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractIncomingMessage
from aio_pika.exceptions import AMQPError

from surge.queue.outbox import Outbox, cancelling

log = logging.getLogger("surge.queue")

BACKOFF_FIRST = 0.2
BACKOFF_MAX = 5.0
QUEUE_EXPIRES_MS = 300_000  # as python-socketio's KombuManager
FAILURES = (OSError, AMQPError, asyncio.TimeoutError)


def encode(data: bytes) -> aio_pika.Message:
    """A queue message as python-socketio's kombu publishes one: the JSON text, as a JSON string."""
    return aio_pika.Message(json.dumps(data.decode()).encode(), content_type="application/json")


def decode(message: AbstractIncomingMessage) -> bytes:
    """The JSON text of a message published by Surge or by a python-socketio process."""
    if message.content_type != "application/json":
        return message.body
    payload: Any = json.loads(message.body)
    return payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()


async def declare(connection: AbstractConnection, name: str) -> tuple[AbstractChannel, AbstractExchange]:
    """python-socketio's exchange (declared alike, or the broker refuses): fanout, not durable.

    With publisher confirms a message leaves the buffer only once the broker has
    it, so one written as the connection drops is sent again, not lost (in
    bench/cluster_broadcast.py they cost nothing measurable: 59,576 deliveries/s
    with them, 59,760 without).
    """
    channel = await connection.channel(publisher_confirms=True)
    return channel, await channel.declare_exchange(name, aio_pika.ExchangeType.FANOUT, durable=False)


class AmqpPubSub:
    """Publish to and listen on one fanout exchange from the event loop."""

    def __init__(
        self,
        url: str,
        channel: str,
        on_message: Callable[[bytes], None],
        *,
        buffer_seconds: float = 30.0,
        buffer_limit: int = 10_000,
    ) -> None:
        self.url = url
        self.channel = channel
        self.on_message = on_message
        self.queue_name = f"surge.{channel}.{uuid.uuid4().hex}"
        self.outbox = Outbox("the AMQP broker", buffer_seconds, buffer_limit)
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self.subscribed.is_set():
            await self.outbox.drain()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def subscribers(self) -> int | None:
        """None: AMQP does not tell how many queues an exchange feeds (fetch_sockets waits its timeout)."""
        return None

    def publish(self, data: bytes) -> None:
        """Queue ``data`` for the queue (loop thread; never blocks)."""
        self.outbox.put(data)

    async def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            try:
                connection = await aio_pika.connect(self.url)
            except FAILURES as exc:
                if cancelling():
                    raise
                self.outbox.expire()
                log.warning("cannot reach the AMQP broker (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)
                continue
            try:
                async with connection:
                    channel, exchange = await declare(connection, self.channel)
                    queue = await channel.declare_queue(
                        self.queue_name, durable=False, arguments={"x-expires": QUEUE_EXPIRES_MS}
                    )
                    await queue.bind(exchange)
                    await queue.consume(self._received, no_ack=True)
                    if backoff > BACKOFF_FIRST:
                        log.warning("reconnected to the AMQP broker; listening on %r again", self.channel)
                    backoff = BACKOFF_FIRST
                    self.subscribed.set()
                    await self._publish_until_lost(connection, exchange)
            except FAILURES as exc:
                if cancelling():
                    raise
                log.warning("lost the AMQP broker (%s); reconnecting in %.1f s", exc, backoff)
            self.subscribed.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _publish_until_lost(self, connection: AbstractConnection, exchange: AbstractExchange) -> None:
        lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

        def closed(_connection: object, exc: BaseException | None = None) -> None:
            if not lost.done():
                lost.set_result(exc)

        connection.close_callbacks.add(closed)
        while not lost.done():
            while self.outbox.pending:
                await exchange.publish(encode(self.outbox.pending[0][1]), routing_key="")
                self.outbox.sent()
            self.outbox.wake.clear()
            waiter: asyncio.Future[Any] = asyncio.ensure_future(self.outbox.wake.wait())
            try:
                await asyncio.wait((waiter, lost), return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
        raise ConnectionError(f"connection closed ({lost.result()})")

    async def _received(self, message: AbstractIncomingMessage) -> None:
        try:
            data = decode(message)
        except ValueError:
            log.warning("ignoring a message on the AMQP exchange that is not JSON")
            return
        self.on_message(data)


class AmqpPublisher:
    """Blocking publisher for a write-only emitter: aio-pika on a loop thread of its own."""

    def __init__(self, url: str, channel: str, *, buffer_seconds: float = 30.0) -> None:
        self.url = url
        self.channel = channel
        self.buffer_seconds = buffer_seconds
        self._loop = asyncio.new_event_loop()
        self._connection: AbstractConnection | None = None
        self._exchange: AbstractExchange | None = None
        threading.Thread(target=self._run_loop, name="surge-amqp", daemon=True).start()

    def _run_loop(self) -> None:
        # The thread holds the publisher, so its connection is never collected while open
        # (aio-pika would leave a close() coroutine unawaited).
        self._loop.run_forever()

    def publish(self, data: bytes) -> None:
        """Publish ``data``; retries while the broker is away, then raises ``ConnectionError``."""
        future = asyncio.run_coroutine_threadsafe(self._publish(data), self._loop)
        try:
            future.result(self.buffer_seconds + 5)
        except FutureTimeout:
            future.cancel()
            raise ConnectionError(f"message queue unreachable for {self.buffer_seconds:.0f} s") from None

    async def _publish(self, data: bytes) -> None:
        deadline = time.monotonic() + self.buffer_seconds
        backoff = BACKOFF_FIRST
        while True:
            try:
                if self._exchange is None:
                    self._connection = await aio_pika.connect(self.url)
                    _, self._exchange = await declare(self._connection, self.channel)
                await self._exchange.publish(encode(data), routing_key="")
                return
            except FAILURES as exc:
                await self._drop_connection()
                if time.monotonic() + backoff > deadline:
                    raise ConnectionError(f"message queue unreachable for {self.buffer_seconds:.0f} s: {exc}") from exc
                log.warning("cannot publish to the AMQP broker (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)

    async def _drop_connection(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None:
            try:
                await connection.close()
            except FAILURES:
                pass
