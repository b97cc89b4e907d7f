"""``socketio.server``: the part of python-socketio's ``Server`` that real apps reach through (front layer).

Flask-SocketIO has no public API for some things apps need (who is in a room,
putting another client in a room from an HTTP route, a per-client session), so
apps use ``socketio.server`` and ``socketio.server.manager`` directly.  This
facade answers those calls from Surge's server core with python-socketio's
names and return shapes; reads run on the event loop, so they see a consistent
state from any thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from surge import options as options_module
from surge.core import event_args, skip_list
from surge.queue.messages import Kind

if TYPE_CHECKING:
    from surge.core import ServerCore
    from surge.server.core import SioSocket

ASYNC_MODE = "threading"  # what python-socketio reports for Flask-SocketIO's default mode


class ServerFacade:
    """python-socketio's ``Server`` API over a running Surge server."""

    async_mode = ASYNC_MODE

    def __init__(self, core: ServerCore, instrument: Callable[..., Any]) -> None:
        self._core = core
        self.manager = ManagerFacade(core)
        self.eio = EngineFacade(core.options)
        self.environ = EnvironFacade(core)
        # python-socketio's instrument(), which Flask-SocketIO apps reach as socketio.server.instrument()
        self.instrument = instrument

    # -- emitting -----------------------------------------------------------------------------

    def emit(
        self,
        event: str,
        data: Any = None,
        to: Any = None,
        room: Any = None,
        skip_sid: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        self._core.emit(event, event_args((data,)), namespace or "/", to or room, skip_list(skip_sid), callback)

    def send(
        self,
        data: Any,
        to: Any = None,
        room: Any = None,
        skip_sid: Any = None,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        ignore_queue: bool = False,
    ) -> None:
        self.emit("message", data, to, room, skip_sid, namespace, callback)

    def call(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        sid: str | None = None,
        namespace: str | None = None,
        timeout: float = 60,
        ignore_queue: bool = False,
    ) -> Any:
        target = to or sid
        if target is None:
            raise ValueError("call() needs the sid of one client in to=")
        return self._core.call(event, event_args((data,)), namespace or "/", target, timeout)

    # -- rooms and clients --------------------------------------------------------------------

    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self._core.room_operation(Kind.ENTER_ROOM, namespace or "/", sid, room)

    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self._core.room_operation(Kind.LEAVE_ROOM, namespace or "/", sid, room)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        self._core.room_operation(Kind.CLOSE_ROOM, namespace or "/", room=room)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        return self.manager.get_rooms(sid, namespace or "/")

    def disconnect(self, sid: str, namespace: str | None = None, ignore_queue: bool = False) -> None:
        self._core.room_operation(Kind.DISCONNECT, namespace or "/", sid)

    def get_environ(self, sid: str, namespace: str | None = None) -> dict[str, Any] | None:
        socket = self._core.read_on_loop(lambda: self._socket(sid, namespace))
        return None if socket is None else socket.environ

    # -- the per-client session (python-socketio's, not Flask's) ---------------------------------

    def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            socket = self._socket(sid, namespace)
            if socket is None or socket.state is None:
                raise KeyError("Session not found")
            if socket.state.sio_session is None:
                socket.state.sio_session = {}
            session: dict[str, Any] = socket.state.sio_session
            return session

        return self._core.read_on_loop(read)

    def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        def write() -> None:
            socket = self._socket(sid, namespace)
            if socket is not None and socket.state is not None:
                socket.state.sio_session = session

        self._core.read_on_loop(write)

    @contextmanager
    def session(self, sid: str, namespace: str | None = None) -> Iterator[dict[str, Any]]:
        """``with socketio.server.session(sid) as session:``: changes are saved on exit."""
        session = self.get_session(sid, namespace)
        yield session
        self.save_session(sid, session, namespace)

    # -- tasks ---------------------------------------------------------------------------------

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._core.start_background_task(target, *args, **kwargs)

    def sleep(self, seconds: float = 0) -> None:
        time.sleep(seconds)

    def _socket(self, sid: str, namespace: str | None) -> SioSocket | None:
        socket = self._core.server().sockets.get(sid)
        if socket is None or socket.namespace != (namespace or "/"):
            return None
        return socket


class ManagerFacade:
    """python-socketio's client manager, read-only: rooms and their participants."""

    def __init__(self, core: ServerCore) -> None:
        self._core = core

    @property
    def rooms(self) -> dict[str, dict[str | None, dict[str, str]]]:
        """A snapshot: namespace -> room (None: everyone) -> {sid: Engine.IO sid}."""

        def read() -> dict[str, dict[str | None, dict[str, str]]]:
            snapshot: dict[str, dict[str | None, dict[str, str]]] = {}
            for namespace, rooms in self._core.server().namespaces.items():
                by_room: dict[str | None, dict[str, str]] = {None: {s.sid: s.eio_sid for s in rooms.everyone.values()}}
                for room, members in rooms.items():
                    by_room[room] = {sid: m.eio_sid for sid, m in members.items()}
                snapshot[namespace] = by_room
            return snapshot

        return self._core.read_on_loop(read)

    def get_namespaces(self) -> list[str]:
        return list(self.rooms)

    def get_participants(self, namespace: str, room: str | None) -> Iterator[tuple[str, str]]:
        """(sid, Engine.IO sid) of everyone in ``room`` (None: the whole namespace)."""

        def read() -> list[tuple[str, str]]:
            sockets = self._core.server().targets(namespace, room, ())
            return [(socket.sid, socket.eio_sid) for socket in sockets]

        yield from self._core.read_on_loop(read)

    def get_rooms(self, sid: str, namespace: str) -> list[str]:
        return self._core.read_on_loop(lambda: self._core.server().rooms(sid, namespace))

    def is_connected(self, sid: str, namespace: str) -> bool:
        def read() -> bool:
            socket = self._core.server().sockets.get(sid)
            return socket is not None and socket.namespace == namespace and socket.connected

        return self._core.read_on_loop(read)

    def sid_from_eio_sid(self, eio_sid: str, namespace: str) -> str | None:
        def read() -> str | None:
            for socket in self._core.server().sockets.values():
                if socket.eio_sid == eio_sid and socket.namespace == namespace:
                    return socket.sid
            return None

        return self._core.read_on_loop(read)

    def eio_sid_from_sid(self, sid: str, namespace: str) -> str | None:
        def read() -> str | None:
            socket = self._core.server().sockets.get(sid)
            return socket.eio_sid if socket is not None and socket.namespace == namespace else None

        return self._core.read_on_loop(read)


class EnvironFacade(Mapping[str, dict[str, Any]]):
    """``socketio.server.environ``: each Engine.IO session's WSGI environ, by its sid, as python-socketio
    keeps them (with the managed Flask session under ``saved_session`` once a handler ran)."""

    def __init__(self, core: ServerCore) -> None:
        self._core = core

    def _sessions(self) -> dict[str, Any]:
        engine = self._core.engine
        return {} if engine is None else engine.sessions

    def __getitem__(self, eio_sid: str) -> dict[str, Any]:
        conn = self._core.read_on_loop(lambda: self._sessions().get(eio_sid))
        if conn is None:
            raise KeyError(eio_sid)
        environ: dict[str, Any] = conn.environ
        return environ

    def __iter__(self) -> Iterator[str]:
        return iter(self._core.read_on_loop(lambda: list(self._sessions())))

    def __len__(self) -> int:
        return self._core.read_on_loop(lambda: len(self._sessions()))


class EngineFacade:
    """``socketio.server.eio``: what apps read of python-engineio's server, from the options."""

    async_mode = ASYNC_MODE

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options

    @property
    def ping_interval(self) -> float:
        return options_module.ping_interval(self._options["ping_interval"])[0]

    @property
    def ping_interval_grace_period(self) -> float:
        return options_module.ping_interval(self._options["ping_interval"])[1]

    def __getattr__(self, name: str) -> Any:
        if name in _ENGINE_OPTIONS:
            return self._options[name]
        raise AttributeError(name)


# python-engineio's Server attributes that are options of the same name.
_ENGINE_OPTIONS = frozenset(
    (
        "ping_timeout",
        "max_http_buffer_size",
        "allow_upgrades",
        "cookie",
        "cors_allowed_origins",
        "cors_credentials",
        "transports",
    )
)


class QueueManagerFacade:
    """``socketio.server_options["client_manager"]`` with a message queue: what apps read of
    python-socketio's queue manager (Surge's own queue does the work)."""

    def __init__(self, url: str, channel: str, write_only: bool) -> None:
        self.url = url
        self.channel = channel
        self.write_only = write_only  # an emitter with no app: it publishes and listens to nothing

    def __repr__(self) -> str:
        return f"QueueManagerFacade({self.url!r}, channel={self.channel!r}, write_only={self.write_only})"


def describe_queue(options: dict[str, Any], write_only: bool) -> None:
    """``server_options["client_manager"]``, as Flask-SocketIO sets it for a message queue (write-only
    without an app)."""
    url = options["message_queue"]
    if url:
        options["client_manager"] = QueueManagerFacade(str(url), str(options["channel"]), write_only)
