"""A test client compatible with Flask-SocketIO's ``SocketIOTestClient``.

It drives the real server core in-process: each client is an Engine.IO session
of the real :class:`~surge.runtime.engine.EngineServer`, whose WebSocket is an
in-memory channel, so packets go through the same codecs, namespaces, rooms and
handler dispatch as over the network.  No monkeypatching.  When the app's
server is not running (the usual case in tests), the core runs on an event
loop in a background thread.

Calls are synchronous, as in Flask-SocketIO: ``emit`` returns once the handlers
it set off (and what they emitted) are done.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from werkzeug.test import EnvironBuilder

from surge.engine.constants import Transport
from surge.engine.outgoing import Outgoing
from surge.protocol import sio
from surge.protocol.sio import SioDecoder, SioPacket, SioType
from surge.runtime.channels import Channel, Listener
from surge.runtime.engine import EngineConnection
from surge.runtime.request import Request

if TYPE_CHECKING:
    import flask

    from surge.core import ServerCore


class _Served(Protocol):
    """The app's ``SocketIO``: the test client drives its server core."""

    core: ServerCore


WAIT = 10.0  # seconds a call waits for the handlers it set off


class _MemoryChannel:
    """The client end of an in-memory WebSocket: the engine writes here, the test client reads."""

    def __init__(self, client: SocketIOTestClient, listener: Listener) -> None:
        self.closed = False
        self.client = client
        self.listener = listener

    def send(self, data: str | bytes) -> None:
        if isinstance(data, str):
            if data[:1] == "4":
                self.client._received_text(data[1:])
        elif data[:1] == b"\x04" and self.client._version == 3:
            self.client._received_binary(data[1:])
        else:
            self.client._received_binary(data)

    def send_outgoing(self, message: Outgoing, version: int) -> None:
        self.client._received_text(message.text)
        for attachment in message.attachments:
            self.client._received_binary(attachment)

    def close(self, code: int | None = 1000, reason: str = "") -> None:
        if not self.closed:
            self.closed = True
            self.client._closed()
            self.listener.on_close()


class SocketIOTestClient:
    """``socketio.test_client(app, ...)``: connect, emit, and see what the server sent."""

    _version = 4

    def __init__(
        self,
        app: flask.Flask,
        socketio: _Served,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        flask_test_client: Any = None,
    ) -> None:
        from surge.handlers import Activity

        self.app = app
        self.socketio = socketio
        self.flask_test_client = flask_test_client
        self.activity = Activity()
        self.queue: dict[str, list[dict[str, Any]]] = {}
        self.acks: dict[int, list[Any]] = {}
        self.connected: dict[str, bool] = {}
        self.eio_sid: str | None = None
        self._channel: _MemoryChannel | None = None
        self._decoder = SioDecoder(max_attachments=1000)
        self._ack_ids = 0
        self._lock = threading.Lock()
        self.loop = socketio.core.running_loop()
        self.connect(namespace=namespace, query_string=query_string, headers=headers, auth=auth)

    # -- the Flask-SocketIO test client API ------------------------------------------------

    def is_connected(self, namespace: str | None = None) -> bool:
        """Whether ``namespace`` (default ``/``) is connected."""
        return self.connected.get(namespace or "/", False)

    def connect(
        self,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
    ) -> None:
        """Connect to ``namespace``, opening the Engine.IO session first if needed."""
        if self.eio_sid is None:
            self._open(query_string, headers)
        namespace = namespace or "/"
        self._send(SioPacket(SioType.CONNECT, namespace, auth))

    def disconnect(self, namespace: str | None = None) -> None:
        """Disconnect from ``namespace`` (default ``/``)."""
        namespace = namespace or "/"
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        self._send(SioPacket(SioType.DISCONNECT, namespace))
        self.connected[namespace] = False

    def emit(self, event: str, *args: Any, **kwargs: Any) -> Any:
        """Emit ``event`` to the server; with ``callback=True``, return its ack."""
        namespace = kwargs.pop("namespace", None) or "/"
        callback = kwargs.pop("callback", False)
        # Other keywords (broadcast=, to=...) are ignored, as Flask-SocketIO's test client does.
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        ack_id = None
        if callback:
            with self._lock:
                ack_id = self._ack_ids = self._ack_ids + 1
        self._send(SioPacket(SioType.EVENT, namespace, [event, *args], ack_id))
        if ack_id is None:
            return None
        answer = self.acks.pop(ack_id, None)
        if answer is None:
            return None
        return answer[0] if len(answer) == 1 else answer

    def send(self, data: Any, json: bool = False, callback: bool = False, namespace: str | None = None) -> Any:
        """Send a ``message`` (or ``json``) event."""
        return self.emit("json" if json else "message", data, callback=callback, namespace=namespace)

    def get_received(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """What the server sent to ``namespace`` since the last call, as ``{name, args, namespace}``."""
        namespace = namespace or "/"
        if not self.is_connected(namespace):
            raise RuntimeError("not connected")
        # What was handed to the loop before this call (an emit from the test, or from a thread it
        # waited for) is sent first: Flask-SocketIO's server sends it before its emit returns.
        self._in_loop(lambda: None)
        with self._lock:
            received, self.queue[namespace] = self.queue.get(namespace, []), []
        return received

    # -- plumbing -----------------------------------------------------------------------------

    def _open(self, query_string: str | None, headers: dict[str, str] | None) -> None:
        if query_string and query_string[0] == "?":
            query_string = query_string[1:]
        builder = EnvironBuilder(path="/socket.io", query_string=query_string, headers=list((headers or {}).items()))
        environ = builder.get_environ()
        builder.close()
        if self.flask_test_client is not None:
            # The cookies of the Flask test client, so a login made there is the session here.
            self.flask_test_client._add_cookies_to_wsgi(environ)
        request = Request()
        request.path = "/socket.io/"
        request.query = urlencode({"EIO": "4", "transport": Transport.WEBSOCKET.value})

        def accept(listener: Listener) -> Channel:
            self._channel = _MemoryChannel(self, listener)
            return self._channel

        def refuse(error: tuple[int, str], message: str | None) -> None:
            raise RuntimeError(f"test client refused: {message or error[1]}")

        def opened(conn: EngineConnection) -> None:
            # Known before any handler of this session runs, so all of them are counted.
            self.eio_sid = conn.sid
            self.socketio.core.track_handlers(conn.sid, self.activity)

        def open_session() -> None:
            engine = self.socketio.core.engine
            assert engine is not None
            engine.handle_websocket(request, environ, accept, refuse, opened)

        self._in_loop(open_session)

    def _send(self, packet: SioPacket) -> None:
        """Send a packet as the client would, then wait for the handlers it set off."""
        text, attachments = sio.encode(packet)
        channel = self._channel
        assert channel is not None

        def deliver() -> None:
            channel.listener.on_message("4" + text)
            for attachment in attachments:
                channel.listener.on_message(attachment)

        self._in_loop(deliver)
        self._settle()

    def _settle(self) -> None:
        """Wait until the handlers at work for this client are done and their emits made."""
        deadline = time.monotonic() + WAIT
        while True:
            if not self.activity.wait_idle(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"handlers still running after {WAIT} s")
            # What the handlers handed to the loop is done now; it may have set off more handlers
            # (a disconnect() from a handler runs the disconnect handler): wait for those too.
            self._in_loop(lambda: None)
            if not self.activity.busy:
                break
        error, self.activity.error = self.activity.error, None
        if error is not None:
            raise error  # a handler's exception that no error handler took, as Flask-SocketIO's client raises it

    def _in_loop(self, fn: Callable[[], None]) -> None:
        async def call() -> None:
            fn()

        asyncio.run_coroutine_threadsafe(call(), self.loop).result(WAIT)

    # -- what the server sent (loop thread) -----------------------------------------------------

    def _received_text(self, text: str) -> None:
        self._received(self._decoder.receive_text(text))

    def _received_binary(self, data: bytes) -> None:
        self._received(self._decoder.receive_binary(data))

    def _received(self, packet: SioPacket | None) -> None:
        if packet is None:
            return
        namespace = packet.namespace
        with self._lock:
            if packet.type == SioType.CONNECT:
                self.connected[namespace] = True
            elif packet.type in (SioType.CONNECT_ERROR, SioType.DISCONNECT):
                self.connected[namespace] = False
            elif packet.type in (SioType.EVENT, SioType.BINARY_EVENT):
                name, args = packet.data[0], packet.data[1:]
                if name in ("message", "json"):
                    args = args[0] if args else None
                self.queue.setdefault(namespace, []).append({"name": name, "args": args, "namespace": namespace})
            elif packet.type in (SioType.ACK, SioType.BINARY_ACK) and packet.id is not None:
                self.acks[packet.id] = packet.data

    def _closed(self) -> None:
        with self._lock:
            for namespace in self.connected:
                self.connected[namespace] = False
