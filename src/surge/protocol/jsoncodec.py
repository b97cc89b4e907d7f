"""JSON for packet payloads: what python-socketio's default codec (the standard library) writes.

An emit's data is written as python-socketio writes it, so what an app may emit is what
Flask-SocketIO accepts: a value the standard library refuses (``datetime``, ``UUID``, a
dataclass, a plain ``Enum``, a set...) raises its ``TypeError``, and ``NaN`` is written
``NaN``.  orjson writes the same values ten times faster but accepts more and writes ``NaN``
as ``null``, so it is given only data made of exactly ``str``, ``int``, ``float`` (finite),
``bool``, ``None``, ``list``, ``tuple`` and ``dict`` with ``str`` keys, which a walk checks
first (a few dozen nanoseconds for an event's arguments; any other data goes to the standard
library).  Input is read as the standard library reads it too: orjson first, and what it
refuses (``NaN``, ``Infinity``, a lone surrogate's escape) by the standard library; one known
difference is left, an integer past 64 bits, which orjson reads as a float
(docs/compatibility.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from surge.protocol.errors import RemoteProtocolError

# ensure_ascii as python-socketio's: the same values, and a lone surrogate written as an escape.
_std_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=True).encode


try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the fallback is tested directly
    orjson = None  # type: ignore[assignment]


_DEEP = 64  # nesting past which the walk leaves the data to the standard library (its own recursion check)


def _plain(obj: Any, depth: int) -> bool:
    """Whether orjson writes ``obj`` as the standard library does (bytes raise its error at once).

    Written for mypyc: each container is walked as its exact type, which it compiles to direct
    loops.  Dict keys are not looked at: orjson refuses any but ``str`` (and the standard library
    then writes them).
    """
    cls = type(obj)
    if cls is str or cls is int or cls is bool or obj is None:
        return True  # (an int past 64 bits: orjson refuses it, and the standard library writes it)
    if cls is float:
        number = cast(float, obj)
        return number - number == 0.0  # finite: the standard library writes NaN and Infinity
    if depth >= _DEEP:
        return False
    if cls is list:
        for item in cast(list[Any], obj):
            if not _plain(item, depth + 1):
                return False
        return True
    if cls is dict:
        for value in cast(dict[Any, Any], obj).values():
            if not _plain(value, depth + 1):
                return False
        return True
    if cls is tuple:
        for item in cast(tuple[Any, ...], obj):
            if not _plain(item, depth + 1):
                return False
        return True
    if cls is bytes or cls is bytearray:
        raise TypeError(f"Object of type {cls.__name__} is not JSON serializable")  # see _fast_dumps
    return False


def _str_keys(obj: Any, depth: int) -> bool:
    """Whether every dict in ``obj`` has only ``str`` keys (as far as _plain looks)."""
    cls = type(obj)
    if depth >= _DEEP:
        return cls is not list and cls is not tuple and cls is not dict
    if cls is list:
        return all(_str_keys(item, depth + 1) for item in cast(list[Any], obj))
    if cls is tuple:
        return all(_str_keys(item, depth + 1) for item in cast(tuple[Any, ...], obj))
    if cls is dict:
        mapping = cast(dict[Any, Any], obj)
        return all(type(key) is str for key in mapping) and all(_str_keys(v, depth + 1) for v in mapping.values())
    return True


def _fast_dumps(obj: Any) -> str:
    try:
        plain = _plain(obj, 0)
    except TypeError:
        # Bytes, met before anything the standard library refuses: its error, without its slower
        # attempt (Socket.IO sends bytes as attachments, and tries JSON first) -- unless a dict key
        # it would have refused first was passed over.
        if _str_keys(obj, 0):
            raise
        plain = False
    if plain:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:
            pass  # an int past 64 bits, a key that is not a str
    return _std_dumps(obj)


def _fast_loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError
        return json.loads(text)


dumps: Callable[[Any], str] = _fast_dumps if orjson is not None else _std_dumps
_loads: Callable[[str | bytes], Any] = _fast_loads if orjson is not None else json.loads


def guarded(parse: Callable[[str | bytes], Any]) -> Callable[[str | bytes], Any]:
    """``parse`` for peer JSON: any failure, deep nesting included, is the peer's fault."""

    def loads(text: str | bytes) -> Any:
        try:
            return parse(text)
        except (ValueError, RecursionError, TypeError) as exc:
            raise RemoteProtocolError("invalid JSON in packet") from exc

    return loads


loads: Callable[[str | bytes], Any] = guarded(_loads)
