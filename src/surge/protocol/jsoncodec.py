"""JSON for packet payloads: orjson when installed, the standard library otherwise.

Both give compact JSON with UTF-8 kept as is and read back the same values.
orjson refuses a few values the standard library accepts (integers beyond 64
bits, non-string keys), and those fall back to the standard library; the
standard library is told to refuse ``NaN``/``Infinity`` on input as orjson
does, so behaviour never depends on orjson being installed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from surge.protocol.errors import RemoteProtocolError

_std_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=True).encode


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _std_loads(text: str | bytes) -> Any:
    return json.loads(text, parse_constant=_refuse_constant)


try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback is tested directly
    orjson = None  # type: ignore[assignment]


# Bytes in the data: neither library writes them (Socket.IO sends them as attachments).  Told
# apart by this message, not by a TypeError subclass: mypyc compiles no subclass of a builtin type.
_BINARY = "bytes are not JSON"


def _refuse(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        raise TypeError(_BINARY)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def _fast_dumps(obj: Any) -> str:
    try:
        return orjson.dumps(obj, default=_refuse).decode()
    except TypeError as exc:
        cause = exc.__cause__
        if isinstance(cause, TypeError) and cause.args == (_BINARY,):
            raise  # the standard library would refuse them too, only slower
        return _std_dumps(obj)


dumps: Callable[[Any], str] = _fast_dumps if orjson is not None else _std_dumps
_loads: Callable[[str | bytes], Any] = orjson.loads if orjson is not None else _std_loads


def guarded(parse: Callable[[str | bytes], Any]) -> Callable[[str | bytes], Any]:
    """``parse`` for peer JSON: any failure, deep nesting included, is the peer's fault."""

    def loads(text: str | bytes) -> Any:
        try:
            return parse(text)
        except (ValueError, RecursionError, TypeError) as exc:
            raise RemoteProtocolError("invalid JSON in packet") from exc

    return loads


loads: Callable[[str | bytes], Any] = guarded(_loads)
