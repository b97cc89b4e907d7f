"""SocketIO's options: Flask-SocketIO's names honoured, ignored ones named in a warning, impossible ones refused."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from surge import SocketIO
from surge.engine.constants import Transport
from surge.engine.session import EngineSession


def make(**options: object) -> SocketIO:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "options"
    return SocketIO(app, **options)


def test_ignored_and_unknown_options_are_named_once_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="surge"):
        make(async_mode="eventlet", monitor_clients=False, http_compression=True, not_an_option=1)
    text = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for name in ("async_mode='eventlet'", "monitor_clients=False", "http_compression=True", "not_an_option=1"):
        assert text.count(name) == 1, text


def test_options_that_change_nothing_are_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="surge"):
        make(async_mode="threading", http_compression=False, monitor_clients=True, cookie="io")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"serializer": "msgpack"}, "serializer"),
        ({"client_manager": object()}, "message_queue="),
        ({"message_queue": "kafka://127.0.0.1:9092"}, "supports redis://.*amqp://"),
    ],
)
def test_options_surge_cannot_honour_fail_at_once(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(**options)


def test_resource_is_path_and_config_keys_come_under_arguments() -> None:
    app = Flask(__name__)
    app.config.update(SOCKETIO_PATH="/from-config/", SOCKETIO_PING_TIMEOUT=7)
    socketio = SocketIO(app, resource="/custom/")
    assert socketio.server_options["path"] == "custom"
    assert socketio.server_options["ping_timeout"] == 7
    assert SocketIO(Flask(__name__), path="/x/").server_options["path"] == "x"


def test_a_logger_given_as_logger_receives_the_trace() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    mine = logging.getLogger("my-app")
    mine.addHandler(Keep())
    loggers = [logging.getLogger(name) for name in ("surge", "surge.engine", "surge.runtime")]
    saved = [(logger.level, logger.propagate, list(logger.handlers)) for logger in loggers]
    try:
        socketio = make(logger=mine, engineio_logger=mine)

        @socketio.on("hello")
        def hello(data: object) -> object:
            return data

        app = socketio.app
        assert app is not None
        client = socketio.test_client(app)
        client.emit("hello", 1, callback=True)
    finally:
        for logger, (level, propagate, handlers) in zip(loggers, saved, strict=True):
            logger.setLevel(level)
            logger.propagate = propagate
            logger.handlers[:] = handlers
    lines = [r.getMessage() for r in records]
    assert any("received EVENT ['hello', 1]" in line for line in lines), lines
    assert any("sending ack" in line for line in lines), lines
    assert any("session opened over websocket" in line for line in lines), lines


def test_ping_interval_with_a_grace_period_as_python_engineio() -> None:
    # python-engineio: ping_interval=(interval, grace) pings every interval, tells the client interval + grace.
    session = EngineSession(
        "s", 4, transport=Transport.POLLING, now=0.0, ping_interval=1.0, ping_timeout=2.0, ping_grace=3.0
    )
    assert '"pingInterval":4000' in session.open_packet([]).data
    session.on_timer(0.99)
    assert not session.has_packets()
    session.on_timer(1.0)
    assert [p.type.name for p in session.packets_to_send()] == ["PING"]


def test_connection_state_recovery_takes_recoverys_own_options_and_nothing_else() -> None:
    import inspect

    from surge.options import RECOVERY_OPTIONS
    from surge.server.recovery import Recovery

    assert tuple(p for p in inspect.signature(Recovery).parameters if p != "clock") == RECOVERY_OPTIONS
    for bad, message in (({"max_disconnection": 5}, "unknown option"), (120, "pass True or a dict")):
        with pytest.raises(ValueError, match=message):
            make(connection_state_recovery=bad)


def test_an_ignored_option_in_the_flask_config_is_warned_about_as_a_keyword_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask(__name__)
    app.config.update(SOCKETIO_ASYNC_MODE="eventlet", SOCKETIO_ASYNC_HANDLERS=False)
    with caplog.at_level(logging.WARNING, logger="surge"):
        socketio = SocketIO(app)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "SocketIO option async_mode='eventlet' is ignored: Surge has one server: def handlers run in threads,"
        " async def on its event loop"
    ]
    assert socketio.server_options["async_handlers"] is False
