"""The options of ``SocketIO(app, **options)``: Flask-SocketIO's names, checked once (front layer).

Every option Flask-SocketIO (with python-socketio and python-engineio) takes is
either honoured, ignored with a WARNING naming it (when it asks for something
Surge does differently), or refused with an error (when ignoring it would break
the app).  ``SOCKETIO_<NAME>`` config keys are read too, as Flask-SocketIO does.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import flask

from surge.engine.constants import Transport
from surge.protocol import jsoncodec
from surge.queue import backends

log = logging.getLogger("surge")

# Option names and defaults as Flask-SocketIO documents them, plus Surge's own.
DEFAULTS: dict[str, Any] = {
    "path": "socket.io",
    "cors_allowed_origins": None,
    "cors_credentials": True,
    "ping_interval": 25,
    "ping_timeout": 20,
    "max_http_buffer_size": 1_000_000,
    "async_handlers": True,
    "always_connect": False,
    "manage_session": True,
    "logger": False,
    "engineio_logger": False,
    "json": None,
    "message_queue": None,
    "channel": "flask-socketio",
    "namespaces": None,
    "transports": tuple(Transport),
    "allow_upgrades": True,
    "cookie": None,  # python-engineio's: a cookie holding the sid (a name, or a dict of attributes)
    # Surge's own
    "max_attachments": 10,
    "max_workers": 1000,
    "client_js": None,
    "max_connections": None,
    "max_write_buffer": 1024 * 1024,
    "request_timeout": 10.0,
    "connection_state_recovery": False,
    "redis_streams": False,  # the Redis queue as a stream: listeners resume after losing Redis
    "metrics": False,  # Prometheus metrics at /metrics (surge.metrics)
}

# connection_state_recovery=True, or a dict of some of these (surge.server.recovery.Recovery's defaults).
RECOVERY_OPTIONS = ("max_disconnection_duration", "max_buffer_size", "skip_connect_handler")

ALIASES = {"resource": "path"}

# Options Surge accepts and does not apply: (the value that changes nothing, why it is ignored).
IGNORED: dict[str, tuple[Any, str]] = {
    "async_mode": ("threading", "Surge has one server: def handlers run in threads, async def on its event loop"),
    "http_compression": (False, "long-polling responses are not compressed"),
    "compression_threshold": (1024, "long-polling responses are not compressed"),
    "monitor_clients": (True, "Surge always drops clients that miss their heartbeat"),
    "allow_unsafe_werkzeug": (True, "Surge's server is not Werkzeug's development server"),
    "websocket_ping_interval": (None, "the Engine.IO heartbeat covers WebSocket connections"),
}


def resolve(config: Mapping[str, Any], given: Mapping[str, Any], warn: bool = True) -> dict[str, Any]:
    """Defaults, then ``SOCKETIO_*`` config keys, then ``given``; checked (``warn``: log what is ignored)."""
    options = dict(DEFAULTS)
    for name in (*DEFAULTS, *IGNORED):  # an ignored option set in the config is warned about as one given
        key = "SOCKETIO_" + name.upper()
        if key in config:
            options[name] = config[key]
    for name, value in given.items():
        options[ALIASES.get(name, name)] = value
    options["path"] = str(options["path"]).strip("/") or DEFAULTS["path"]
    _check(options, warn)
    return options


def _check(options: dict[str, Any], warn: bool) -> None:
    serializer = options.pop("serializer", "default")
    if serializer != "default":
        raise ValueError(f"serializer={serializer!r} is not supported: Surge speaks the default JSON serializer")
    if options.pop("client_manager", None) is not None:
        raise ValueError(
            "client_manager= is not supported: pass message_queue='redis://...' instead "
            "(Surge's own queue, which also understands Flask-SocketIO's messages)"
        )
    recovery(options["connection_state_recovery"])  # a bad value fails now, not at the first client
    url = options["message_queue"]
    if url is not None:
        backends.check(str(url), bool(options["redis_streams"]))
    elif options["redis_streams"]:
        raise ValueError("redis_streams=True needs message_queue='redis://...'")
    for name in sorted(set(options) - set(DEFAULTS)):
        value = options.pop(name)
        if not warn:
            continue
        if name in IGNORED:
            harmless, why = IGNORED[name]
            if value != harmless and value is not None:
                log.warning("SocketIO option %s=%r is ignored: %s", name, value, why)
        else:
            log.warning("SocketIO option %s=%r is not known to Surge and is ignored", name, value)


def recovery(value: Any) -> dict[str, Any] | None:
    """``connection_state_recovery`` as keyword arguments of :class:`~surge.server.recovery.Recovery`
    (None: off)."""
    if not value:
        return None
    if value is True:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"connection_state_recovery={value!r}: pass True or a dict of {', '.join(RECOVERY_OPTIONS)}")
    unknown = set(value) - set(RECOVERY_OPTIONS)
    if unknown:
        raise ValueError(
            f"connection_state_recovery: unknown option(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(RECOVERY_OPTIONS)}"
        )
    return dict(value)


def tls_context(certfile: Any = None, keyfile: Any = None, ssl_context: Any = None) -> ssl.SSLContext | None:
    """``run(certfile=, keyfile=)`` or ``ssl_context=`` (an SSLContext or a (certfile, keyfile) pair) as a context."""
    if isinstance(ssl_context, ssl.SSLContext):
        return ssl_context
    if isinstance(ssl_context, tuple | list):
        certfile, keyfile = ssl_context
    elif ssl_context is not None:
        raise ValueError(f"ssl_context={ssl_context!r}: pass an ssl.SSLContext or a (certfile, keyfile) pair")
    if certfile is None:
        if keyfile is not None:
            raise ValueError("keyfile= needs certfile=")
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    return context


def ping_interval(value: Any) -> tuple[float, float]:
    """``ping_interval`` as (interval, grace): a two-element value adds a grace period (python-engineio)."""
    if isinstance(value, tuple | list):
        interval, grace = value
        return float(interval), float(grace)
    return float(value), 0.0


ENGINE_LOGGERS = ("surge.engine", "surge.runtime")


def apply_loggers(logger: Any, engineio_logger: Any) -> None:
    """``logger=``: everything Surge logs at INFO, with a line per Socket.IO packet (logger "surge");
    ``engineio_logger=``: the Engine.IO layer's, with a line per session event and heartbeat."""
    logger_for(logger, "surge")
    for name in ENGINE_LOGGERS:
        logger_for(engineio_logger, name)


def logger_for(value: Any, name: str) -> None:
    """Apply one of them: True logs at INFO, a Logger receives the records."""
    if not value:
        return
    target = logging.getLogger(name)
    target.setLevel(logging.INFO)
    if isinstance(value, logging.Logger):
        target.addHandler(_Forward(value))
        target.propagate = False
    elif not logging.root.handlers and not target.handlers:
        # Nothing is configured: a handler of its own, as python-socketio adds (and not
        # the root's too, should the app configure logging later).
        target.addHandler(logging.StreamHandler())
        target.propagate = False


class _Forward(logging.Handler):
    """Hands Surge's log records to the application's logger (``logger=my_logger``)."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__()
        self.logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        self.logger.handle(record)


def workers(value: int | str | None) -> int:
    """``run(workers=...)``: a number of processes, or ``"auto"`` for one per core."""
    if value is None:
        return 1
    if value == "auto":
        return os.cpu_count() or 1
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"workers={value!r}: a number of processes (1 or more) or 'auto'")
    return value


def json_functions(module: Any, app: Any) -> tuple[Callable[[Any], str], Callable[[str | bytes], Any]]:
    """``json=module`` as packet codec (None: Surge's, python-socketio's standard library JSON made fast);
    ``flask.json`` runs in an app context, so the app's provider applies.

    (Outside one, ``flask.json`` ignores the app's JSON provider; Flask-SocketIO wraps it the same way.)
    """
    if module is None:
        return jsoncodec.dumps, jsoncodec.loads
    if module is flask.json and app is not None:

        def dumps(obj: Any) -> str:
            with app.app_context():
                return str(module.dumps(obj, separators=(",", ":")))

        def loads(text: str | bytes) -> Any:
            with app.app_context():
                return module.loads(text)

        return dumps, jsoncodec.guarded(loads)

    def compact_dumps(obj: Any) -> str:
        return str(module.dumps(obj, separators=(",", ":")))

    return compact_dumps, jsoncodec.guarded(module.loads)
