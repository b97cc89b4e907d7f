"""HTTP requests and responses as plain data (runtime layer, imports nothing of Surge).

:class:`Request` is what the HTTP parser produced; :func:`build_response` makes
the bytes of a complete answer; :func:`build_environ` the PEP 3333 environ
that Flask, the handlers and the Engine.IO layer see.  Every server front
(the built-in one, ASGI, the test client) uses these.
"""

from __future__ import annotations

import io
import sys
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote


class Request:
    """One parsed HTTP request; header names are lower-cased latin-1 text."""

    __slots__ = ("body", "headers", "keep_alive", "method", "path", "query", "raw_path", "upgrade", "version")

    def __init__(self) -> None:
        self.method = "GET"
        self.raw_path = b""
        self.path = "/"
        self.query = ""
        self.version = "1.1"
        self.headers: list[tuple[str, str]] = []
        self.body = bytearray()
        self.keep_alive = True
        self.upgrade = False

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (lower case), or ``default``."""
        for key, value in self.headers:
            if key == name:
                return value
        return default


_STATUS_LINES = {status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n" for status in HTTPStatus}
_CLOSE = "Connection: close\r\n\r\n"


def build_response(status: int, headers: list[tuple[str, str]], body: bytes = b"", *, keep_alive: bool = True) -> bytes:
    """A complete HTTP/1.1 response with Content-Length."""
    lines = [_STATUS_LINES.get(status) or f"HTTP/1.1 {status} Unknown\r\n"]
    lines += [f"{k}: {v}\r\n" for k, v in headers]
    lines.append(f"Content-Length: {len(body)}\r\n\r\n" if keep_alive else f"Content-Length: {len(body)}\r\n{_CLOSE}")
    return "".join(lines).encode("latin-1") + body


# A session keeps its connect request's environ for its handlers: the same keys and common values,
# made once and shared (330 bytes a connection, bench/connection_memory.py).
_SHARED: dict[str, str] = {}
_REPEATING = frozenset(  # headers whose values most clients send alike
    (
        "host",
        "upgrade",
        "connection",
        "origin",
        "user-agent",
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "pragma",
        "sec-websocket-version",
        "sec-websocket-extensions",
    )
)


def _shared(text: str) -> str:
    return _SHARED.setdefault(text, text) if len(_SHARED) < 10_000 else text


def build_environ(
    request: Request, host: str, port: int, peer: tuple[str, int], scheme: str = "http"
) -> dict[str, Any]:
    """A PEP 3333 environ for ``request``, received on ``host:port`` (``scheme``: https over TLS) from ``peer``."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(request.path, encoding="latin-1"),
        "QUERY_STRING": request.query,
        "RAW_URI": request.raw_path.decode("latin-1"),
        "SERVER_NAME": host,
        "SERVER_PORT": _shared(str(port)),
        "SERVER_PROTOCOL": _shared(f"HTTP/{request.version}"),
        "REMOTE_ADDR": peer[0],
        "REMOTE_PORT": str(peer[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(bytes(request.body)),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers:
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name == "content-length":
            environ["CONTENT_LENGTH"] = value
        else:
            key = _shared("HTTP_" + name.upper().replace("-", "_"))
            if name in _REPEATING:
                value = _shared(value)
            environ[key] = environ[key] + "," + value if key in environ else value
    return environ


def query_params(query: str) -> dict[str, str]:
    """The first value of each query parameter.

    Engine.IO queries are short and rarely escaped; ``parse_qs`` is kept for those
    that are (``%`` or ``+``), the plain split for the rest (it is a tenth of a poll).
    """
    if "%" in query or "+" in query:
        return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    result: dict[str, str] = {}
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            result.setdefault(key, value)
    return result
