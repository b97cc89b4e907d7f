"""In-memory wire for runtime tests: a real server object behind a fake transport (no sockets)."""

from __future__ import annotations

import asyncio
from typing import Any

from surge.runtime.engine import EngineConnection
from surge.runtime.http import HttpProtocol
from surge.runtime.server import HttpServer

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def masked(text: str) -> bytes:
    """A client's text frame (masked with a zero key, so the payload reads as is)."""
    data = text.encode()
    length = bytes([0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | 126]) + len(data).to_bytes(2, "big")
    return b"\x81" + length + b"\0\0\0\0" + data


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


class EchoApp:
    def engine_connected(self, conn: EngineConnection) -> None:
        pass

    def engine_message(self, conn: EngineConnection, data: str | bytes) -> None:
        conn.send(data)

    def engine_closed(self, conn: EngineConnection, reason: str) -> None:
        pass

    def engine_upgraded(self, conn: EngineConnection) -> None:
        pass


def connection(server: HttpServer) -> tuple[HttpProtocol, FakeTransport]:
    proto = HttpProtocol(server)
    transport = FakeTransport()
    proto.connection_made(transport)
    return proto, transport
