"""The Engine.IO server on asyncio: handshakes, polling, WebSocket, upgrades (runtime layer).

This is the one place that glues :class:`~surge.engine.session.EngineSession` to the loop
("one pump per connection"): after any input it drains the session's events to the application,
writes what is to send and keeps the session's next deadline with the server's
(surge.runtime.deadlines: one loop timer for every session).  It runs on the loop thread only.

The application on top (the Socket.IO server, or a user's raw Engine.IO app) implements :class:`EngineApp`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from surge.engine.constants import POLLING, SHUTDOWN, WEBSOCKET, EioError, Reason, Transport
from surge.engine.outgoing import Outgoing
from surge.engine.session import EngineSession, MessageReceived, State, sid_cookie
from surge.engine.traffic import Traffic
from surge.protocol import eio, jsoncodec
from surge.protocol.eio import EioPacket, EioType
from surge.protocol.errors import RemoteProtocolError
from surge.runtime.channels import Accept, Channel, Ignore, Refuse, Responder
from surge.runtime.cors import Cors, Environ, Origins
from surge.runtime.deadlines import Deadlines
from surge.runtime.request import ConnectRequest, Request, SessionEnviron, environ_of, query_params

Headers = Iterable[tuple[str, str]]
log = logging.getLogger("surge.engine")


class EngineApp(Protocol):
    """What sits on top of the Engine.IO server."""

    def engine_connected(self, conn: EngineConnection) -> None: ...
    def engine_message(self, conn: EngineConnection, data: str | bytes) -> None: ...
    def engine_closed(self, conn: EngineConnection, reason: str) -> None: ...

    def engine_upgraded(self, conn: EngineConnection) -> None:
        """``conn`` moved from polling to its WebSocket."""


class EngineConnection:
    """One Engine.IO client as the loop sees it: its session and its transports."""

    __slots__ = ("__weakref__", "_environ", "app_state", "deadline_slot", "poll", "server", "session", "ws")

    def __init__(self, server: EngineServer, session: EngineSession, environ: SessionEnviron) -> None:
        self.server = server
        self.session = session
        self._environ = environ
        self.ws: Channel | None = None
        self.poll: tuple[Responder, Request] | None = None
        self.deadline_slot: int | None = None  # the server's Deadlines keep it
        self.app_state: Any = None

    @property
    def environ(self) -> dict[str, Any]:
        """The connect request's environ, made when first read."""
        if isinstance(self._environ, ConnectRequest):
            self._environ = self._environ.environ()
        return self._environ

    @environ.setter
    def environ(self, environ: dict[str, Any]) -> None:
        self._environ = environ

    @property
    def sid(self) -> str:
        return self.session.sid

    @property
    def version(self) -> int:
        return self.session.version

    @property
    def transport(self) -> Transport:
        return self.session.transport

    @property
    def closed(self) -> bool:
        return self.session.state is State.CLOSED

    def send(self, data: str | bytes) -> None:
        """Send one Engine.IO message."""
        ws = self.ws
        traffic = self.server.traffic
        if ws is not None and self.session.transport is WEBSOCKET and not self.closed:
            if traffic is not None:  # inline: this is the hot path
                traffic.packets_out += 1
                traffic.bytes_out += len(data) + 1
            ws.send("4" + data if isinstance(data, str) else (b"\x04" + data if self.version == 3 else data))
            return
        session = self.session
        poll = self.poll
        if poll is not None and data.__class__ is str and session.version == 4 and session.state is State.OPEN:
            if not session.has_packets():
                # A GET is waiting and nothing is queued before this message: it is the whole answer.
                self.poll = None
                session.end_poll()
                body = eio.encode_message_payload(data)
                if traffic is not None:
                    traffic.sent(len(body))
                self.server.respond_ok(poll[0], poll[1], body, eio.TEXT_CONTENT_TYPE)
                return
        session.send(EioPacket(EioType.MESSAGE, data))
        self.pump()

    def send_outgoing(self, message: Outgoing) -> None:
        """Send a message encoded once for many connections (the broadcast hot path)."""
        ws = self.ws
        if ws is not None and self.session.transport is WEBSOCKET and not self.closed:
            traffic = self.server.traffic
            if traffic is not None:
                traffic.sent_outgoing(message)
            ws.send_outgoing(message, self.version)
            return
        self.send_batch((message,))

    def send_batch(self, messages: Iterable[Outgoing]) -> None:
        """Send several messages; a polling client gets them in one response."""
        ws = self.ws
        traffic = self.server.traffic
        if ws is not None and self.session.transport is WEBSOCKET and not self.closed:
            for message in messages:
                if traffic is not None:
                    traffic.sent_outgoing(message)
                ws.send_outgoing(message, self.version)
            return
        for message in messages:
            for packet in message.packets():
                self.session.send(packet)
        self.pump()

    def close(self, reason: str = Reason.SERVER_DISCONNECT) -> None:
        """Close the session from the server side."""
        self.session.close(reason, self.server.loop.time())
        self.pump()

    # -- the pump ---------------------------------------------------------------

    def pump(self) -> None:
        """Deliver events, write what is queued, clean up after a close."""
        session = self.session
        self._deliver_events()
        if session.has_packets():
            if session.transport is WEBSOCKET and self.ws is not None:
                traffic = self.server.traffic
                for packet in session.packets_to_send():
                    frame = eio.encode_ws(packet, session.version)
                    if traffic is not None:
                        traffic.sent(len(frame))
                    self.ws.send(frame)
            elif self.poll is not None:
                self._answer_poll()
            self._deliver_events()  # handing out a CLOSE packet completes a close
        if session.state is State.CLOSED:
            if self.poll is not None:
                self._answer_poll()
            if self.ws is not None:
                self.ws.close()

    def _deliver_events(self) -> None:
        for event in self.session.events_received():
            if isinstance(event, MessageReceived):
                self.server.app.engine_message(self, event.data)
            else:
                self.server.session_closed(self, event.reason)

    def _answer_poll(self) -> None:
        assert self.poll is not None
        proto, request = self.poll
        self.poll = None
        self.session.end_poll()
        self.server.answer_poll(self, proto, request)

    def receive_packets(self, packets: Iterable[EioPacket]) -> None:
        now = self.server.loop.time()
        try:
            for packet in packets:
                if self.server.trace and packet.type is not EioType.MESSAGE:
                    log.info("%s: received packet %s data %r", self.sid, packet.type.name, packet.data)
                self.session.receive_packet(packet, now)
        except RemoteProtocolError as exc:
            self.server.protocol_violation(self, exc)
        self.pump()
        # A PONG moves the next deadline to the next PING, which may come before the pong
        # deadline the timer waits for (a ping_interval shorter than ping_timeout).
        deadline = self.session.next_deadline()
        deadlines = self.server.deadlines
        armed = deadlines.when(self)
        if deadline is not None and armed is not None and deadline < armed:
            deadlines.set(self, deadline)

    def on_timer(self, now: float) -> None:
        session = self.session
        pinged = session.has_packets()
        session.on_timer(now)
        if self.server.trace and not pinged and session.has_packets():
            log.info("%s: sending packet PING", self.sid)
        self.pump()
        deadline = session.next_deadline()
        if deadline is not None:
            self.server.deadlines.set(self, deadline)


class EngineServer:
    """Serves Engine.IO v3 and v4 under ``path`` for ``app``."""

    def __init__(
        self,
        app: EngineApp,
        loop: asyncio.AbstractEventLoop,
        *,
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        ping_grace: float = 0.0,
        max_http_buffer_size: int = 1_000_000,
        max_write_buffer: int = 1024 * 1024,
        cors_allowed_origins: Origins = None,
        cors_credentials: bool = True,
        transports: tuple[str, ...] = tuple(Transport),
        allow_upgrades: bool = True,
        cookie: str | dict[str, Any] | None = None,
        trace: bool = False,
    ) -> None:
        self.app = app
        self.cookie = cookie  # python-engineio's: the handshake sets a cookie holding the sid
        self.loop = loop
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.ping_grace = ping_grace
        self.max_http_buffer_size = max_http_buffer_size
        self.max_write_buffer = max_write_buffer
        self.cors = Cors(cors_allowed_origins, cors_credentials)
        self.transports = transports
        self.allow_upgrades = allow_upgrades and Transport.WEBSOCKET in transports
        self.sessions: dict[str, EngineConnection] = {}
        self.deadlines: Deadlines[EngineConnection] = Deadlines(loop, EngineConnection.on_timer)
        self.traffic: Traffic | None = None
        self.sid_prefix = ""  # which worker process owns a session (workers=N: surge.runtime.handoff)
        # engineio_logger=True: a line per session event and per packet other than messages
        # (those the Socket.IO layer traces); decided once, so the hot path tests one flag.
        self.trace = trace

    # -- HTTP entry points ----------------------------------------------------------

    def handle_request(self, request: Request, proto: Responder) -> None:
        """A plain HTTP request under the Engine.IO path."""
        origin = request.header("origin")
        if origin is not None and not self.origin_allowed(origin, request, proto.environ):
            log.info("refused request from origin %s", origin)
            self._error(proto, request, EioError.BAD_ORIGIN)
            return
        if request.method == "OPTIONS":
            headers = self.cors.headers(request)
            headers += [("Access-Control-Allow-Methods", "GET, POST, OPTIONS")]
            requested = request.header("access-control-request-headers")
            if requested:
                headers.append(("Access-Control-Allow-Headers", requested))
            proto.respond(request, 204, headers)
            return
        query = query_params(request.query)
        checked = self._check_query(query, POLLING)
        if isinstance(checked, tuple):
            self._error(proto, request, checked)
            return
        version = checked
        sid = query.get("sid")
        if sid is None:
            if request.method != "GET":
                self._error(proto, request, EioError.BAD_HANDSHAKE_METHOD)
                return
            new = self._open(version, POLLING, proto.session_environ(request), b64=query.get("b64") in ("1", "true"))
            # (The open packet is waiting: the handshake is answered at once, with the sid's cookie if asked.)
            self._poll(new, proto, request, [("Set-Cookie", sid_cookie(new.sid, self.cookie))] if self.cookie else ())
            return
        conn = self.sessions.get(sid)
        if conn is None:
            self._error(proto, request, EioError.SESSION_ID_UNKNOWN)
        elif conn.session.transport is not POLLING:
            self._error(proto, request, EioError.BAD_REQUEST, "Polling request on a websocket session")
        elif request.method == "GET":
            self._poll(conn, proto, request)
        elif request.method == "POST":
            self._post(conn, proto, request)
        else:
            self._error(proto, request, EioError.BAD_REQUEST)

    def handle_websocket(
        self,
        request: Request,
        environ: SessionEnviron,
        accept: Accept,
        refuse: Refuse,
        opened: Callable[[EngineConnection], None] | None = None,
    ) -> bool:
        """A WebSocket request under the Engine.IO path, whatever server carries it.

        ``accept(listener)`` completes the handshake and returns the
        channel; ``refuse(error, message)`` answers an error instead; ``opened``
        sees a new session before the application does.  Returns whether the
        WebSocket is open for messages.
        """
        origin = request.header("origin")
        if origin is not None and not self.origin_allowed(origin, request, lambda _: environ_of(environ)):
            log.info("refused websocket from origin %s", origin)
            refuse(EioError.BAD_ORIGIN, None)
            return False
        query = query_params(request.query)
        checked = self._check_query(query, WEBSOCKET)
        if isinstance(checked, tuple):
            refuse(checked, None)
            return False
        sid = query.get("sid")
        conn: EngineConnection | None = None
        if sid is not None:
            conn = self.sessions.get(sid)
            if conn is None:
                refuse(EioError.SESSION_ID_UNKNOWN, None)
                return False
            session = conn.session
            if not self.allow_upgrades:
                refuse(EioError.BAD_REQUEST, "Upgrades are not allowed")
                return False
            if session.transport is not POLLING or session.upgrading or conn.ws is not None:
                # As Node's engine.io: the WebSocket is accepted, then closed at once (no status code).
                log.info("closing a second WebSocket for session %s", conn.sid)
                accept(Ignore()).close(None)
                return False
        if conn is None:
            conn = self._open(checked, WEBSOCKET, environ, opened=opened)
            self._attach_ws(conn, accept)
            assert conn.ws is not None
            conn.ws.send(eio.encode_ws(conn.session.open_packet([]), conn.version))
            conn.pump()
        else:
            self._attach_ws(conn, accept)
        return True

    # -- sessions -------------------------------------------------------------------

    def _open(
        self,
        version: int,
        transport: Transport,
        environ: SessionEnviron,
        b64: bool = False,
        opened: Callable[[EngineConnection], None] | None = None,
    ) -> EngineConnection:
        sid = self.sid_prefix + secrets.token_urlsafe(15)
        session = EngineSession(
            sid,
            version,
            transport=transport,
            now=self.loop.time(),
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            ping_grace=self.ping_grace,
            max_payload=self.max_http_buffer_size,
            max_buffer=self.max_write_buffer,
            b64=b64,
        )
        conn = EngineConnection(self, session, environ)
        self.sessions[sid] = conn
        if self.traffic is not None:
            self.traffic.opened += 1
        if self.trace:
            log.info(
                "%s: session opened over %s (EIO=%d) from %s", sid, transport, version, conn.environ.get("REMOTE_ADDR")
            )
        if transport is POLLING:
            upgrades = [Transport.WEBSOCKET.value] if self.allow_upgrades else []
            session.send(session.open_packet(upgrades))
        deadline = session.next_deadline()
        assert deadline is not None
        self.deadlines.set(conn, deadline)
        if opened is not None:
            opened(conn)
        self.app.engine_connected(conn)
        return conn

    def session_closed(self, conn: EngineConnection, reason: str) -> None:
        if self.sessions.pop(conn.sid, None) is None:
            return
        if self.traffic is not None:
            self.traffic.closed[reason] += 1
        if reason == Reason.PING_TIMEOUT:
            log.info("closing session %s: ping timeout", conn.sid)
        elif self.trace:
            log.info("%s: session closed (%s)", conn.sid, reason)
        if conn.session.overflowed:
            log.warning(
                "closing session %s: more than %d bytes queued and not collected", conn.sid, conn.session.max_buffer
            )
        self.deadlines.cancel(conn)
        self.app.engine_closed(conn, reason)

    def protocol_violation(self, conn: EngineConnection, exc: Exception) -> None:
        """Close one session whose client broke the protocol; log it once."""
        log.warning("closing session %s: %s", conn.sid, exc)
        conn.session.transport_lost(Reason.TRANSPORT_ERROR)

    def close_all(self) -> None:
        """Close every session (server shutdown)."""
        for conn in list(self.sessions.values()):
            conn.close(SHUTDOWN)

    # -- polling ----------------------------------------------------------------------

    def _poll(self, conn: EngineConnection, proto: Responder, request: Request, headers: Headers = ()) -> None:
        try:
            ready = conn.session.start_poll()
        except RemoteProtocolError as exc:
            log.warning("closing session %s: %s", conn.sid, exc)
            proto.respond(request, 400, self.cors.headers(request))  # an empty 400, as Node's engine.io
            conn.pump()
            return
        if ready:
            self.answer_poll(conn, proto, request, headers)
            conn.pump()
            return
        conn.poll = (proto, request)

        def lost() -> None:
            # A GET the client gave up on closes the session (Node's engine.io: "poll
            # connection closed prematurely"); the client's next request gets 400.
            if conn.poll is not None and conn.poll[0] is proto:
                conn.poll = None
                conn.session.end_poll()
                conn.session.transport_lost(Reason.TRANSPORT_ERROR)
                conn.pump()

        proto.on_lost(lost)

    def answer_poll(self, conn: EngineConnection, proto: Responder, request: Request, headers: Headers = ()) -> None:
        session = conn.session
        packets = session.packets_to_send()
        if not packets:
            packets = [EioPacket(EioType.CLOSE if session.state is State.CLOSED else EioType.NOOP)]
        body, content_type = eio.encode_payload(packets, session.version, b64=session.b64)
        if self.traffic is not None:
            self.traffic.sent(len(body), len(packets))
        self.respond_ok(proto, request, body, content_type, headers)

    def respond_ok(
        self, proto: Responder, request: Request, body: bytes, content_type: str, headers: Headers = ()
    ) -> None:
        """A 200 answer to a polling request, with the CORS headers its origin gets."""
        proto.respond(request, 200, [("Content-Type", content_type), *self.cors.headers(request), *headers], body)

    def _post(self, conn: EngineConnection, proto: Responder, request: Request) -> None:
        body = bytes(request.body)
        session = conn.session
        traffic = self.traffic
        if session.version == 4 and body[:1] == b"4" and b"\x1e" not in body and session.state is State.OPEN:
            # The hot path, as on a WebSocket: one v4 text MESSAGE goes straight to the application.
            try:
                text = body.decode()
            except UnicodeDecodeError:
                pass  # the full decoding below refuses it
            else:
                if traffic is not None:
                    traffic.received(len(body))
                self.respond_ok(proto, request, b"ok", "text/html")
                self.app.engine_message(conn, text[1:])
                return
        try:
            packets = eio.decode_payload(body, conn.version)
        except RemoteProtocolError as exc:
            self._error(proto, request, EioError.BAD_REQUEST, "Invalid payload")
            self.protocol_violation(conn, exc)
            conn.pump()
            return
        if traffic is not None:
            traffic.received(len(body), len(packets))
        self.respond_ok(proto, request, b"ok", "text/html")
        conn.receive_packets(packets)

    # -- websocket ----------------------------------------------------------------------

    def _attach_ws(self, conn: EngineConnection, accept: Accept) -> None:
        events = _WebSocketEvents(self, conn)
        events.channel = conn.ws = accept(events)

    def _upgraded(self, conn: EngineConnection) -> None:
        if self.trace:
            log.info("%s: upgraded to websocket", conn.sid)
        try:
            conn.session.receive_upgrade()
        except RemoteProtocolError as exc:
            self.protocol_violation(conn, exc)
            conn.pump()
            return
        if conn.poll is not None:
            proto, request = conn.poll
            conn.poll = None
            conn.session.end_poll()
            self.respond_ok(proto, request, *eio.encode_payload([EioPacket(EioType.NOOP)], conn.version))
        conn.pump()
        self.app.engine_upgraded(conn)

    # -- helpers ----------------------------------------------------------------------

    def _check_query(self, query: dict[str, str], transport: Transport) -> int | tuple[int, str]:
        eio_version = query.get("EIO")
        if eio_version not in ("3", "4"):
            return EioError.UNSUPPORTED_PROTOCOL_VERSION
        if query.get("transport") != transport or transport not in self.transports:
            return EioError.TRANSPORT_UNKNOWN
        return int(eio_version)

    def origin_allowed(self, origin: str, request: Request, environ: Environ) -> bool:
        """Whether ``origin`` may use this server (``cors_allowed_origins``; see surge.runtime.cors)."""
        return self.cors.origin_allowed(origin, request, environ)

    def _error(self, proto: Responder, request: Request, error: tuple[int, str], message: str | None = None) -> None:
        """HTTP 400 with the Engine.IO error JSON (Engine.IO protocol, "Errors")."""
        headers, body = self.error_answer(request, error, message)
        proto.respond(request, 400, headers, body)

    def error_answer(
        self, request: Request, error: tuple[int, str], message: str | None
    ) -> tuple[list[tuple[str, str]], bytes]:
        code, text = error
        body = jsoncodec.dumps({"code": code, "message": message or text}).encode()
        if error == EioError.BAD_ORIGIN:  # equality: the compiled build boxes a tuple anew where it is used
            return [("Content-Type", "application/json")], body
        return [("Content-Type", "application/json"), *self.cors.headers(request)], body


class _WebSocketEvents:
    """What one WebSocket of a session receives: messages (and the upgrade probe) and its close.

    A small slotted object rather than closures: thousands of idle connections each hold one.
    """

    __slots__ = ("channel", "conn", "server")

    def __init__(self, server: EngineServer, conn: EngineConnection) -> None:
        self.server = server
        self.conn = conn
        self.channel: Channel | None = None

    def on_message(self, data: str | bytes) -> None:
        conn = self.conn
        session = conn.session
        traffic = self.server.traffic
        if traffic is not None:  # inline: this is the hot path
            traffic.packets_in += 1
            traffic.bytes_in += len(data)
        if session.version == 4 and session.transport is WEBSOCKET and session.state is State.OPEN:
            # The hot path: a v4 MESSAGE on an open WebSocket session (a binary frame is always
            # one) is handed straight to the application (v4 keeps no per-packet state; v3's
            # heartbeat goes the full way).
            if data.__class__ is str:
                if data[:1] == "4":
                    self.server.app.engine_message(conn, data[1:])
                    return
            else:
                self.server.app.engine_message(conn, data)
                return
        try:
            if isinstance(data, str):
                packet = eio.decode_ws_text(data)
            else:
                packet = eio.decode_ws_binary(data, session.version)
        except RemoteProtocolError as exc:
            self.server.protocol_violation(conn, exc)
            conn.pump()
            return
        if session.transport is WEBSOCKET:
            conn.receive_packets((packet,))
        elif packet.type == EioType.UPGRADE:
            self.server._upgraded(conn)
        else:
            channel = self.channel
            assert channel is not None
            try:
                answer = session.receive_probe(packet)
            except RemoteProtocolError as exc:
                log.info("upgrade of session %s failed: %s", conn.sid, exc)
                channel.close(1002)
                return
            channel.send(eio.encode_ws(answer, session.version))
            conn.pump()

    def on_close(self) -> None:
        conn, session = self.conn, self.conn.session
        if conn.ws is self.channel and session.transport is WEBSOCKET:
            session.transport_lost()
            conn.pump()
        elif conn.ws is self.channel:
            conn.ws = None
            session.upgrading = False
