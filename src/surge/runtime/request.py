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
    request: Request | ConnectRequest, host: str, port: int, peer: tuple[str, int], scheme: str = "http"
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


class ConnectRequest:
    """What a session keeps of its connect request, to make its environ when first read.

    A handler reads the environ through ``request``; an app with no connect handler may never
    do, and a session of it keeps only this (its few strings of its own, the rest shared):
    the environ dict and its values are 1.3 KiB of RSS a connection (``make bench``'s memory).
    """

    __slots__ = ("_headers", "body", "host", "method", "path", "peer", "port", "query", "raw_path", "scheme", "version")

    def __init__(self, request: Request, host: str, port: int, peer: tuple[str, int], scheme: str = "http") -> None:
        self.method = _shared(request.method)
        self.path = _shared(request.path)
        self.query = request.query
        self.raw_path = request.raw_path
        self.version = _shared(request.version)
        flat: list[str] = []  # names and values in turn: a tuple of pairs would cost 350 bytes more
        for name, value in request.headers:
            flat += (_shared(name), _shared(value) if name in _REPEATING else value)
        self._headers = tuple(flat)
        self.body = bytes(request.body)
        self.host, self.port, self.peer, self.scheme = host, port, peer, scheme

    @property
    def headers(self) -> list[tuple[str, str]]:
        flat = self._headers
        return list(zip(flat[0::2], flat[1::2], strict=True))

    def environ(self) -> dict[str, Any]:
        return build_environ(self, self.host, self.port, self.peer, self.scheme)


SessionEnviron = dict[str, Any] | ConnectRequest  # what a session is given: a WSGI server's environ, or the request


def environ_of(source: SessionEnviron) -> dict[str, Any]:
    """The environ a session was given, or made of what it kept of its connect request."""
    return source.environ() if isinstance(source, ConnectRequest) else source


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
