"""The official Socket.IO Admin UI on a Surge server (front layer): ``socketio.instrument(...)``.

Speaks the protocol of ``@socket.io/admin-ui`` 0.5, as its Node server does (read
from the npm package; tests/differential/test_admin_node.py runs one session
against both): on the admin namespace the UI gets ``config``, ``all_sockets`` and
a ``server_stats`` every ``server_stats_interval`` seconds; in development mode
also a notification for every socket connected or disconnected, room joined or
left and event received or sent; and, unless ``read_only``, it may emit, join,
leave and disconnect, for one socket or a room.  Every report is an emit to the
admin namespace through the cluster, so with a message queue each process
reports to whichever process the UI is connected to, and the UI's ``all_sockets``
is a cluster-wide fetch.

The arguments are python-socketio's ``instrument()``'s; a password in ``auth``
may be a bcrypt hash (as the Node server requires; checked with the ``bcrypt``
package, other values in constant time).  The UI's own files are served at
``ui_path`` from the npm package (surge.client_js finds it), with the server's
address filled in for a first visit.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import secrets
import socket as socket_module
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

import flask

from surge.client_js import ADMIN_UI_MISSING, find_admin_icons, find_admin_ui
from surge.engine.constants import POLLING
from surge.engine.traffic import Traffic
from surge.errors import ConnectionRefusedError
from surge.protocol.sio import SioType
from surge.queue.messages import Kind
from surge.server.cluster import decode_packet

if TYPE_CHECKING:
    from surge.core import ServerCore
    from surge.engine.outgoing import Outgoing
    from surge.server.core import SioSocket

log = logging.getLogger("surge.admin")

MODES = ("development", "production")
ACTIONS = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]
BCRYPT_HASH = re.compile(r"^\$2[abxy]\$\d\d\$[./A-Za-z0-9]{53}$")
SESSION_SECONDS = 86400  # a signed-in UI's session id lasts a day, as the Node server's Redis store keeps it
MAX_SESSIONS = 10_000
FETCH_TIMEOUT = 2.0  # for the other processes' sockets in all_sockets
HOSTNAME = socket_module.gethostname()
ICONS = "_icons"  # under ui_path: the @mdi/font package

Auth = dict[str, Any] | list[dict[str, Any]] | Callable[[Any], bool] | bool


class Front(Protocol):
    """What the Admin UI needs of the ``SocketIO`` it instruments (surge.flask imports this module)."""

    app: Any
    core: ServerCore

    def on_event(self, message: str, handler: Callable[..., Any], namespace: str | None = None) -> None: ...

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None: ...


class Admin:
    """What ``instrument()`` set up; it outlives ``init_app`` and reports from each running server.

    ``auth``: the credentials the UI must give (a dict such as ``{"username": ..., "password":
    ...}``, whose values may be bcrypt hashes; a list of such dicts; a callable taking the UI's
    dict and returning whether it may in), or ``False`` for no sign-in.  ``mode="production"``
    sends the server statistics only.  ``ui_path=None`` serves no page; ``ui_files`` names the
    UI's folder if ``@socket.io/admin-ui`` is in no ``node_modules`` above the app.
    """

    def __init__(
        self,
        socketio: Front,
        auth: Auth | None = None,
        mode: str = "development",
        read_only: bool = False,
        server_id: str | None = None,
        namespace: str = "/admin",
        server_stats_interval: float = 2,
        ui_path: str | None = "/admin/",
        ui_files: str | os.PathLike[str] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"instrument(mode=...) is 'development' or 'production', not {mode!r}")
        if not namespace.startswith("/"):
            raise ValueError(f"instrument(namespace=...) starts with '/': {namespace!r}")
        if server_stats_interval <= 0:
            raise ValueError("instrument(server_stats_interval=...) must be positive")
        _check_auth(auth)
        self.socketio = socketio
        self.auth: Auth = auth  # type: ignore[assignment]  # _check_auth refused None
        self.mode = mode
        self.read_only = read_only
        self.server_id = server_id
        self.namespace = namespace
        self.interval = server_stats_interval
        self.ui_path = None if ui_path is None else "/" + ui_path.strip("/") + "/"
        self.files: Path | None = None
        self.icons: Path | None = None
        if self.ui_path is not None:
            root = getattr(socketio.app, "root_path", os.getcwd())
            self.files = find_admin_ui(ui_files, os.getcwd(), root)
            self.icons = find_admin_icons(os.getcwd(), root)
            if self.files is None:
                log.warning(ADMIN_UI_MISSING)
        self._sessions: dict[str, float] = {}  # session id -> when it expires
        self._sessions_lock = threading.Lock()
        self.features = ([] if read_only else list(ACTIONS)) + ["AGGREGATED_EVENTS"]
        if mode == "development":
            self.features.append("ALL_EVENTS")
        on = socketio.on_event
        on("connect", self._connect, namespace)
        on("disconnect", _nothing, namespace)  # not the app's catch-all's business
        for event, action in (("emit", self._emit), ("join", self._join), ("leave", self._leave)):
            on(event, action, namespace)
        on("_disconnect", self._disconnect, namespace)

    def middleware(self, app: Callable[..., Iterable[bytes]], socketio_path: str) -> Callable[..., Iterable[bytes]]:
        """``app`` with the UI's files answered first at ``ui_path``."""
        if self.ui_path is None:
            return app
        defaults = {"path": "/" + socketio_path.strip("/"), "namespace": self.namespace}
        return AdminUIMiddleware(app, self.ui_path, self.files, defaults, self.icons)

    def start(self, core: ServerCore) -> None:
        """Report from ``core``, which has just started (loop thread)."""
        Reporter(self, core)

    # -- the admin namespace's handlers (worker threads) ----------------------------------------

    def _connect(self, auth: Any) -> None:
        if self.auth is False:
            return
        if isinstance(auth, dict) and isinstance(auth.get("sessionId"), str) and self._known(auth["sessionId"]):
            return
        if not self._authenticated(auth):
            log.warning("Admin UI: refused a connection from %s: invalid credentials", flask.request.remote_addr)
            raise ConnectionRefusedError("invalid credentials")  # the words the UI looks for
        sid: str = flask.request.sid  # type: ignore[attr-defined]
        self.socketio.emit("session", self._new_session(), to=sid, namespace=self.namespace)

    def _authenticated(self, given: Any) -> bool:
        auth = self.auth
        if callable(auth):
            return bool(auth(given))
        expected = auth if isinstance(auth, list) else [auth]
        return any(_matches(credentials, given) for credentials in expected)  # type: ignore[arg-type]

    def _new_session(self) -> str:
        session_id = secrets.token_hex(8)
        now = time.time()
        with self._sessions_lock:
            if len(self._sessions) >= MAX_SESSIONS:
                self._sessions = {s: t for s, t in self._sessions.items() if t > now}
                while len(self._sessions) >= MAX_SESSIONS:
                    del self._sessions[next(iter(self._sessions))]
            self._sessions[session_id] = now + SESSION_SECONDS
        return session_id

    def _known(self, session_id: str) -> bool:
        with self._sessions_lock:
            return self._sessions.get(session_id, 0.0) > time.time()

    def _emit(self, namespace: Any, room_filter: Any, event: Any, *args: Any) -> None:
        if self._allowed("emit", namespace, room_filter) and isinstance(event, str):
            self.socketio.core.emit(event, args, namespace, room_filter or None, [], None)

    def _join(self, namespace: Any, room: Any, room_filter: Any = None) -> None:
        if self._allowed("join", namespace, room_filter) and isinstance(room, str):
            self.socketio.core.sockets_operation(Kind.SOCKETS_JOIN, namespace, room_filter or None, room)

    def _leave(self, namespace: Any, room: Any, room_filter: Any = None) -> None:
        if self._allowed("leave", namespace, room_filter) and isinstance(room, str):
            self.socketio.core.sockets_operation(Kind.SOCKETS_LEAVE, namespace, room_filter or None, room)

    def _disconnect(self, namespace: Any, close: Any = False, room_filter: Any = None) -> None:
        if self._allowed("_disconnect", namespace, room_filter):
            self.socketio.core.sockets_operation(Kind.DISCONNECT_SOCKETS, namespace, room_filter or None)

    def _allowed(self, action: str, namespace: Any, room_filter: Any) -> bool:
        if self.read_only:
            log.warning("Admin UI: %r refused: instrument(read_only=True)", action)
            return False
        if not isinstance(namespace, str) or not (room_filter is None or isinstance(room_filter, str)):
            log.warning("Admin UI: %r ignored: a namespace and a room or sid are strings", action)
            return False
        return True


def _nothing(*args: Any) -> None:
    pass


class Reporter:
    """The Admin UI's reports from one running server (its :class:`~surge.server.core.Observer`; loop thread)."""

    def __init__(self, admin: Admin, core: ServerCore) -> None:
        assert core.sio is not None and core.cluster is not None and core.engine is not None and core.loop is not None
        self.admin = admin
        self.core = core
        self.sio = core.sio
        self.cluster = core.cluster
        self.engine = core.engine
        self.loop = core.loop
        self.namespace = admin.namespace
        self.development = admin.mode == "development"
        self.since: dict[str, float] = {}  # sid -> when it connected (the handshake's time)
        if self.engine.traffic is None:
            self.engine.traffic = Traffic()
        self.traffic = self.engine.traffic
        self._last = _counts(self.traffic)
        self.started = time.monotonic()
        # Processes of one cluster on one host need names of their own, as Node's cluster workers get.
        clustered = core.options.get("message_queue") or core.worker is not None
        self.server_id = admin.server_id or (f"{HOSTNAME}#{os.getpid()}" if clustered else HOSTNAME)
        self.sio.observer = self
        self.sio.observe_events = self.development
        self.cluster.describe = self.describe
        self.loop.call_later(admin.interval, self._stats)

    def _audience(self) -> bool:
        """Whether a report can reach a UI: one connected here, or other processes on the queue."""
        if self.cluster.publish is not None:
            return True
        rooms = self.sio.namespaces.get(self.namespace)
        return rooms is not None and bool(rooms.everyone)

    def _tell(self, event: str, *args: Any) -> None:
        if self._audience():
            self.cluster.emit(self.sio.encode_args([event, *args]), self.namespace, None, (), None)

    # -- the Observer interface ------------------------------------------------------------------

    def connected(self, socket: SioSocket) -> None:
        if self.development:
            self.since[socket.sid] = time.time()
            if self._audience():
                self._tell("room_joined", socket.namespace, socket.sid, socket.sid, _date())
                self._tell("socket_connected", self.describe(socket), _date())
        if socket.namespace == self.namespace:
            self._welcome(socket)

    def disconnected(self, socket: SioSocket, reason: str, rooms: list[str]) -> None:
        self.since.pop(socket.sid, None)
        if self.development and self._audience():
            self._tell("socket_disconnected", socket.namespace, socket.sid, reason, _date())
            for room in rooms:
                self._tell("room_left", socket.namespace, room, socket.sid, _date())

    def joined(self, socket: SioSocket, room: str) -> None:
        if self.development and self._audience():
            self._tell("room_joined", socket.namespace, room, socket.sid, _date())

    def left(self, socket: SioSocket, room: str) -> None:
        if self.development and self._audience():
            self._tell("room_left", socket.namespace, room, socket.sid, _date())

    def upgraded(self, socket: SioSocket) -> None:
        if self.development and self._audience():
            self._tell("socket_updated", {"id": socket.sid, "nsp": socket.namespace, "transport": "websocket"})

    def received(self, socket: SioSocket, data: list[Any]) -> None:
        if socket.namespace != self.namespace and self._audience():
            self._tell("event_received", socket.namespace, socket.sid, data, _date())

    def sent(self, namespace: str, to: str | Iterable[str] | None, skip: Iterable[str], message: Outgoing) -> None:
        if namespace == self.namespace or not self._audience():
            return
        packet = decode_packet(message.text, message.attachments)
        if packet is None or packet.type not in (SioType.EVENT, SioType.BINARY_EVENT):
            return
        date = _date()
        for socket in self.sio.targets(namespace, to, skip):
            self._tell("event_sent", namespace, socket.sid, packet.data, date)

    # -- what the UI is told ---------------------------------------------------------------------

    def _welcome(self, admin_socket: SioSocket) -> None:
        """A UI signed in: its features, then (development mode) every socket of the cluster."""
        sid = admin_socket.sid
        self.sio.emit(self.sio.encode_args(["config", {"supportedFeatures": self.admin.features}]), self.namespace, sid)
        if self.development:
            self.loop.create_task(self._send_all_sockets(sid))

    async def _send_all_sockets(self, sid: str) -> None:
        table = self.core.dispatcher.table
        namespaces = sorted({*self.sio.namespaces, *table.functions, *table.classes} - {"*"})
        found = await asyncio.gather(
            *(self.core.fetch_sockets_async(None, ns, FETCH_TIMEOUT, details=True) for ns in namespaces)
        )
        sockets = [
            entry.get("details") or _plain(entry, namespace)
            for namespace, entries in zip(namespaces, found, strict=True)
            for entry in entries
        ]
        self.sio.emit(self.sio.encode_args(["all_sockets", sockets]), self.namespace, sid)

    def describe(self, socket: SioSocket) -> dict[str, Any]:
        """``socket`` as the UI lists it (the Node server's fields)."""
        environ = socket.environ
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        query_string = environ.get("QUERY_STRING", "")
        query = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        since = self.since.get(socket.sid, time.time())
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        return {
            "id": socket.sid,
            "clientId": socket.eio_sid[:12],
            "transport": str(socket.client.conn.transport),
            "nsp": socket.namespace,
            "data": {},
            "handshake": {
                "address": headers.get("cf-connecting-ip")
                or headers.get("x-forwarded-for")
                or environ.get("REMOTE_ADDR", ""),
                "headers": headers,
                "query": query,
                "issued": int(since * 1000),
                "secure": environ.get("wsgi.url_scheme") == "https",
                "time": time.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", time.gmtime(since)),
                "url": path + ("?" + query_string if query_string else ""),
                "xdomain": "origin" in headers,
            },
            "rooms": self.sio.namespaces[socket.namespace].rooms_of(socket),
        }

    def _stats(self) -> None:
        self.loop.call_later(self.admin.interval, self._stats)
        events = self._aggregated_events()
        if not self._audience():
            return
        sessions = self.engine.sessions.values()
        self._tell(
            "server_stats",
            {
                "serverId": self.server_id,
                "hostname": HOSTNAME,
                "pid": os.getpid(),
                "uptime": time.monotonic() - self.started,
                "clientsCount": len(self.engine.sessions),
                "pollingClientsCount": sum(1 for conn in sessions if conn.session.transport is POLLING),
                "aggregatedEvents": events,
                "namespaces": [
                    {"name": name, "socketsCount": len(rooms.everyone)}
                    for name, rooms in sorted(self.sio.namespaces.items())
                ],
            },
        )

    def _aggregated_events(self) -> list[dict[str, Any]]:
        """The traffic since the last report, as the UI's charts take it."""
        now, last = _counts(self.traffic), self._last
        self._last = now
        timestamp = int(time.time()) * 1000
        events = []
        for (kind, sub_type), count in now.items():
            delta = count - last.get((kind, sub_type), 0)
            if delta:
                event = {"timestamp": timestamp, "type": kind, "count": delta}
                if sub_type:
                    event["subType"] = sub_type
                events.append(event)
        return events


def _counts(traffic: Traffic) -> dict[tuple[str, str], int]:
    counts = {
        ("rawConnection", ""): traffic.opened,
        ("packetsIn", ""): traffic.packets_in,
        ("bytesIn", ""): traffic.bytes_in,
        ("packetsOut", ""): traffic.packets_out,
        ("bytesOut", ""): traffic.bytes_out,
    }
    for reason, count in traffic.closed.items():
        counts[("rawDisconnection", reason)] = count
    return counts


def _plain(entry: dict[str, Any], namespace: str) -> dict[str, Any]:
    """A socket of a process that does not report to the UI: what fetch_sockets says of it."""
    return {"id": entry["sid"], "nsp": namespace, "data": {}, "handshake": {}, "rooms": entry["rooms"]}


def _date() -> str:
    """Now as JavaScript's ``Date`` goes to JSON."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- credentials ----------------------------------------------------------------------------------


def _check_auth(auth: Any) -> None:
    """Refuse at ``instrument()`` what could never let anyone in (or would let everyone by mistake)."""
    if auth is None:
        raise ValueError(
            "instrument() needs auth: the credentials to expect (a dict, a list of dicts or a callable), "
            "or auth=False to let anyone in"
        )
    if auth is False or callable(auth):
        return
    expected = auth if isinstance(auth, list) else [auth]
    if not expected or not all(isinstance(credentials, dict) and credentials for credentials in expected):
        raise ValueError("instrument(auth=...) is a dict of credentials, a list of them, a callable or False")
    for credentials in expected:
        for value in credentials.values():
            if isinstance(value, str) and value.startswith("$2"):
                if not BCRYPT_HASH.match(value):
                    raise ValueError("instrument(auth=...): a value starting with '$2' must be a valid bcrypt hash")
                try:
                    import bcrypt  # noqa: F401
                except ImportError as exc:
                    raise ImportError("a bcrypt hash in auth needs bcrypt: pip install 'surge[admin]'") from exc


def _matches(expected: dict[str, Any], given: Any) -> bool:
    """``given`` has exactly the expected keys, each value right (a bcrypt hash: a password it hashes)."""
    if not isinstance(given, dict) or given.keys() != expected.keys():
        return False
    right = True
    for key, value in expected.items():
        supplied = given[key]
        if isinstance(value, str) and BCRYPT_HASH.match(value):
            import bcrypt

            right &= isinstance(supplied, str) and bcrypt.checkpw(supplied.encode(), value.encode())
        elif isinstance(value, str):
            right &= isinstance(supplied, str) and hmac.compare_digest(supplied.encode(), value.encode())
        else:
            right &= supplied == value
    return right


# -- the UI's files -------------------------------------------------------------------------------


class AdminUIMiddleware:
    """A WSGI app with the Admin UI's files answered first at ``ui_path``."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        ui_path: str,
        files: Path | None,
        defaults: dict[str, str],
        icons: Path | None = None,
    ) -> None:
        from werkzeug.middleware.shared_data import SharedDataMiddleware

        self.inner_app = app
        self.prefix = ui_path
        exports = {ui_path.rstrip("/"): str(files)} if files else {}
        if icons is not None:
            exports[ui_path + ICONS] = str(icons)
        self.static = SharedDataMiddleware(_not_found, exports) if files else None
        self.index = _index(files / "index.html", defaults, icons is not None) if files else b""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == self.prefix[:-1]:
            location = environ.get("SCRIPT_NAME", "") + self.prefix
            start_response("301 Moved Permanently", [("Location", location), ("Content-Length", "0")])
            return [b""]
        if not path.startswith(self.prefix):
            return self.inner_app(environ, start_response)
        if self.static is None:
            return _not_found(environ, start_response, ADMIN_UI_MISSING)
        if path in (self.prefix, self.prefix + "index.html"):
            headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(self.index)))]
            start_response("200 OK", [*headers, ("Cache-Control", "no-cache")])
            return [self.index]
        return self.static(environ, start_response)


def _index(path: Path, defaults: dict[str, str], local_icons: bool) -> bytes:
    """The UI's page, which on a first visit (nothing in localStorage) fills in this server's address,
    with its icons from ``@mdi/font`` when installed (rather than from a CDN).

    The address goes into the sign-in form rather than into localStorage: the UI connects at
    once to a stored address, and without credentials that greets a first visit with
    "Invalid credentials".
    """
    values = json.dumps(defaults).replace("<", "\\u003c")
    script = (
        "<script>(function(d,s){if(s.getItem('server_url'))return;"
        "for(var k in d)if(!s.getItem(k))s.setItem(k,d[k]);"
        "new MutationObserver(function(m,o){var f=[].find.call(document.querySelectorAll('label'),"
        "function(l){return l.textContent.trim()==='Server URL'});var i=f&&document.getElementById(f.htmlFor);"
        "if(i){o.disconnect();if(!i.value){i.value=location.origin;i.dispatchEvent(new Event('input'))}}})"
        ".observe(document.documentElement,{childList:true,subtree:true})})(" + values + ",localStorage)</script>"
    )
    html = path.read_text(encoding="utf-8")
    if local_icons:
        html = re.sub(r'href="https://cdn\.jsdelivr\.net/npm/@mdi/font@[^/"]*/', f'href="{ICONS}/', html)
    return html.replace("</head>", script + "</head>", 1).encode()


def _not_found(environ: dict[str, Any], start_response: Callable[..., Any], text: str = "Not Found") -> Iterable[bytes]:
    body = text.encode()
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
