"""Which origins may use the Engine.IO endpoint, and the CORS headers they get (runtime layer).

``cors_allowed_origins`` as python-engineio reads it: None for the same origin
only, ``"*"`` (or a list holding it) for any, a string or a list of origins,
``[]`` for no CORS handling at all (no check, no headers), or a callable of
``(origin, environ)`` (or of ``origin`` alone).  A refused origin's answer
carries no CORS headers, so the refused page cannot read it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from surge.runtime.request import Request

Origins = str | list[str] | Callable[[str], bool] | Callable[[str, dict[str, Any]], bool] | None
Environ = Callable[[Request], dict[str, Any]]  # builds the request's environ, only for a callable check
TOLD_ORIGINS = 256
log = logging.getLogger("surge.engine")


class Cors:
    """The origin check and the CORS headers of one Engine.IO server."""

    def __init__(self, allowed: Origins = None, credentials: bool = True) -> None:
        if callable(allowed) and len(inspect.signature(allowed).parameters) < 2:
            allowed = _with_environ(allowed)  # type: ignore[arg-type]
        self.allowed = allowed
        self.credentials = credentials
        self._told: set[str] = set()  # the origins refused and logged at WARNING

    def origin_allowed(self, origin: str, request: Request, environ: Environ) -> bool:
        if self._check(origin, request, environ):
            return True
        # python-engineio's words; at WARNING the first time an origin is refused (a few hundred
        # remembered, so refused origins cannot grow memory), at INFO after that.
        first = origin not in self._told and len(self._told) < TOLD_ORIGINS
        if first:
            self._told.add(origin)
        log.log(logging.WARNING if first else logging.INFO, "%s is not an accepted origin", origin)
        return False

    def _check(self, origin: str, request: Request, environ: Environ) -> bool:
        allowed = self.allowed
        if allowed == "*" or allowed == []:
            return True
        if allowed is None:
            host = request.header("host")
            parts = urlsplit(origin)
            return host is not None and parts.scheme in ("http", "https") and parts.netloc == host
        if callable(allowed):
            return bool(allowed(origin, environ(request)))  # type: ignore[call-arg]
        if isinstance(allowed, str):
            return origin == allowed
        return "*" in allowed or origin in allowed

    def headers(self, request: Request) -> list[tuple[str, str]]:
        """CORS headers for a request whose origin passed the check."""
        origin = request.header("origin")
        if origin is None or self.allowed == []:
            return []
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers


def _with_environ(check: Callable[[str], bool]) -> Callable[[str, dict[str, Any]], bool]:
    """A one-argument origin check, called like python-engineio's: ``(origin, environ)``."""

    def allowed(origin: str, environ: dict[str, Any]) -> bool:
        return check(origin)

    return allowed
