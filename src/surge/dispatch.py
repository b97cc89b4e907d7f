"""Which handler an event goes to, and with which arguments (front layer).

The handler tables of a ``SocketIO``: functions registered with ``on``, and
class-based namespaces.  The resolution order is Flask-SocketIO's (that is,
python-socketio's): ``handlers[ns][event]``, ``handlers[ns]["*"]``,
``handlers["*"][event]``, ``handlers["*"]["*"]``, then the class-based
namespace of ``ns``.  A :class:`Target` also carries what ``request.event``
says of the call: the *registered* name (``"*"`` for a catch-all) and the
arguments as the handler receives them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import flask

from surge.handlers import HandlerRecord

Handler = Callable[..., Any]

# Events a catch-all ("*") never receives (python-socketio's reserved events).
RESERVED = frozenset(("connect", "disconnect"))


@dataclass(frozen=True, slots=True)
class Target:
    """A handler found for an event."""

    fn: Handler
    is_async: bool
    takes_extra: bool  # connect: takes ``auth``; disconnect: takes ``reason``
    message: str  # request.event["message"]: the name the handler was registered under
    prefix: tuple[Any, ...] = ()  # arguments before the event's own (a catch-all's event name)
    raw: bool = False  # a Namespace.trigger_event override: called as Flask-SocketIO calls it


class HandlerTable:
    """The handlers of one ``SocketIO``: functions by namespace and event, and namespace classes."""

    def __init__(self) -> None:
        self.functions: dict[str, dict[str, HandlerRecord]] = {}
        self.classes: dict[str, tuple[Any, bool]] = {}  # namespace -> (instance, trigger_event overridden)
        self.extra_namespaces: frozenset[str] | None = frozenset()  # namespaces=[...]; None: '*' (all)
        self._methods: dict[tuple[str, str], Target] = {}  # a namespace class's methods, looked up once

    def add(self, namespace: str, message: str, fn: Handler) -> None:
        self.functions.setdefault(namespace, {})[message] = HandlerRecord.of(fn)

    def add_class(self, instance: Any, overrides_trigger: bool) -> None:
        self.classes[instance.namespace] = (instance, overrides_trigger)
        self._methods.clear()

    def has_namespace(self, namespace: str) -> bool:
        """Whether a client may connect to ``namespace`` (python-socketio's rule)."""
        extra = self.extra_namespaces
        return (
            namespace == "/"
            or namespace in self.functions
            or namespace in self.classes
            or extra is None
            or namespace in extra
        )

    def find(self, namespace: str, event: str) -> Target | None:
        catch_all = event not in RESERVED
        table = self.functions.get(namespace)
        if table is not None:
            record = table.get(event)
            if record is not None:
                return _target(record, event)
            if catch_all and "*" in table:
                return _target(table["*"], "*", (event,))
        table = self.functions.get("*")
        if table is not None:
            record = table.get(event)
            if record is not None:
                return _target(record, event)
            if catch_all and "*" in table:
                # Flask-SocketIO hands a catch-all of every namespace (namespace, *args).
                return _target(table["*"], "*", (namespace,))
        found = self.classes.get(namespace) or self.classes.get("*")
        if found is None:
            return None
        instance, overrides_trigger = found
        if overrides_trigger:
            return Target(partial(_trigger, instance, event), False, True, event, raw=True)
        key = (instance.namespace, event)
        target = self._methods.get(key)
        if target is None:
            method = getattr(instance, "on_" + event, None)
            # Flask-SocketIO's Namespace answers an event it has no method for with None
            # (so an ack comes back empty).
            target = (
                Target(_nothing, False, False, event) if method is None else _target(HandlerRecord.of(method), event)
            )
            self._methods[key] = target
        return target


def _target(record: HandlerRecord, message: str, prefix: tuple[Any, ...] = ()) -> Target:
    return Target(record.fn, record.is_async, record.takes_extra, message, prefix)


def _trigger(instance: Any, event: str, *args: Any) -> Any:
    return instance.trigger_event(event, flask.request.sid, *args)  # type: ignore[attr-defined]


def _nothing(*args: Any) -> None:
    return None
