"""WebSocket handshake answer and server-to-client frames (protocol layer).

Incoming frames are parsed by the sans-I/O protocol of the ``websockets``
library.  Outgoing data frames are built here because a broadcast must build
its frame once and write the same bytes to every connection (DESIGN.md §5),
which the library, serializing per connection, cannot do.  A server frame is
just a header (RFC 6455 §5.2: FIN, opcode, unmasked length) and the payload.
"""

from __future__ import annotations

import struct
from base64 import b64encode
from hashlib import sha1

# RFC 6455 §1.3: the GUID appended to Sec-WebSocket-Key.
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_TEXT = 0x1
OP_BINARY = 0x2


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key."""
    return b64encode(sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")


def frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One unfragmented, unmasked frame."""
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload
