"""Class-based namespaces, as Flask-SocketIO's ``Namespace``: a method ``on_<event>`` handles ``<event>``."""

from __future__ import annotations

from typing import Any

from surge.handlers import Handler, HandlerRecord
from surge.queue.messages import Kind


class Namespace:
    """Class-based handlers: a method ``on_<event>`` handles ``<event>``."""

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.socketio: Any = None  # the surge.flask.SocketIO it is registered with (that module imports this one)

    def _set_socketio(self, socketio: Any) -> None:
        self.socketio = socketio

    def _io(self) -> Any:
        if self.socketio is None:
            raise RuntimeError("register the namespace with socketio.on_namespace() first")
        return self.socketio

    def trigger_event(self, event: str, sid: str, *args: Any) -> Any:
        """Call the ``on_<event>`` method, if there is one (Flask-SocketIO's signature).

        Override it to route events yourself; ``args`` are the event's arguments,
        for ``connect`` ``(environ, auth)`` and for ``disconnect`` ``(reason,)``.
        """
        handler = getattr(self, "on_" + (event or ""), None)
        if handler is None:
            return None
        if event == "connect" or event == "disconnect":
            extra = args[-1] if args else None  # auth / reason
            return handler(extra) if HandlerRecord.of(handler).takes_extra else handler()
        return handler(*args)

    def emit(
        self,
        event: str,
        data: Any = None,
        room: str | None = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Handler | None = None,
        to: str | None = None,
        skip_sid: Any = None,
    ) -> None:
        """Emit to a room or to everyone in this namespace."""
        self._io().emit(
            event,
            data,
            to=to or room,
            include_self=include_self,
            namespace=namespace or self.namespace,
            callback=callback,
            skip_sid=skip_sid,
        )

    def send(
        self,
        data: Any,
        room: str | None = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Handler | None = None,
        to: str | None = None,
    ) -> None:
        """Send a ``message`` event."""
        self._io().send(
            data, to=to or room, include_self=include_self, namespace=namespace or self.namespace, callback=callback
        )

    def call(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        sid: str | None = None,
        namespace: str | None = None,
        timeout: float = 60,
    ) -> Any:
        """Emit to one client and wait for its ack."""
        return self._io().call(event, data, to=to or sid, namespace=namespace or self.namespace, timeout=timeout)

    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        io = self._io()
        io.core.room_operation(Kind.ENTER_ROOM, namespace or self.namespace, sid, room)

    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        io = self._io()
        io.core.room_operation(Kind.LEAVE_ROOM, namespace or self.namespace, sid, room)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        self._io().close_room(room, namespace or self.namespace)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        rooms: list[str] = self._io().server.rooms(sid, namespace or self.namespace)
        return rooms

    def disconnect(self, sid: str, namespace: str | None = None) -> None:
        io = self._io()
        io.core.room_operation(Kind.DISCONNECT, namespace or self.namespace, sid)

    def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """python-socketio's per-client session of ``sid`` (not Flask's)."""
        session: dict[str, Any] = self._io().server.get_session(sid, namespace or self.namespace)
        return session

    def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        self._io().server.save_session(sid, session, namespace or self.namespace)

    def session(self, sid: str, namespace: str | None = None) -> Any:
        """``with self.session(sid) as session:``: changes are saved on exit."""
        return self._io().server.session(sid, namespace or self.namespace)
