"""Which AMQP library fits an asyncio process: aio-pika on the loop, or kombu in a thread (issue 12).

Publishes N messages to a fanout exchange on the local RabbitMQ and times until
a consumer of the same process has them all, for each library.

    .venv/bin/pip install kombu && .venv/bin/python bench/amqp_clients.py [N]
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid

import aio_pika
import kombu

URL = "amqp://guest:guest@127.0.0.1:5672//"
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000


async def with_aio_pika() -> float:
    connection = await aio_pika.connect(URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=False)  # as kombu: no broker ack per message
        exchange = await channel.declare_exchange("bench-" + uuid.uuid4().hex, aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange)
        done = asyncio.Event()
        got = 0

        async def received(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal got
            got += 1
            if got == N:
                done.set()

        await queue.consume(received, no_ack=True)
        start = time.perf_counter()
        for n in range(N):
            await exchange.publish(aio_pika.Message(b'{"n":%d}' % n), routing_key="")
        await done.wait()
        return time.perf_counter() - start


async def with_kombu_thread() -> float:
    """kombu is blocking: the loop hands each publish to a thread, a second thread consumes."""
    loop = asyncio.get_running_loop()
    exchange = kombu.Exchange("bench-" + uuid.uuid4().hex, type="fanout", durable=False)
    queue = kombu.Queue("bench-" + uuid.uuid4().hex, exchange, durable=False, auto_delete=True)
    done = asyncio.Event()
    ready = threading.Event()

    def consume() -> None:
        got = 0
        with kombu.Connection(URL) as connection, connection.SimpleQueue(queue) as simple:
            ready.set()
            while got < N:
                simple.get(block=True).ack()
                got += 1
        loop.call_soon_threadsafe(done.set)

    threading.Thread(target=consume, daemon=True).start()
    ready.wait()
    publisher = kombu.Connection(URL)
    producer = publisher.Producer(exchange=exchange)
    start = time.perf_counter()
    for n in range(N):
        await loop.run_in_executor(None, producer.publish, b'{"n":%d}' % n)
    await done.wait()
    elapsed = time.perf_counter() - start
    publisher.release()
    return elapsed


def main() -> None:
    for name, run in (("aio-pika on the loop", with_aio_pika), ("kombu in threads", with_kombu_thread)):
        seconds = asyncio.run(run())
        print(f"{name:22} {N} messages in {seconds:.2f} s: {N / seconds:,.0f} msg/s")


if __name__ == "__main__":
    main()
