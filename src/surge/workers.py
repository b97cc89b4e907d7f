"""gunicorn's process management around Surge's own server: ``gunicorn -k surge.workers.SurgeWorker module:app``.

Each worker process runs the built-in asyncio server (WebSocket and polling,
the fast path of ``socketio.run``) on the sockets gunicorn listens on, TCP or
unix, with gunicorn's TLS settings.  As uvicorn's ``UvicornWorker`` does: the
master's SIGTERM (graceful stop, and ``HUP`` reloads, which stop old workers
that way) closes every session with a disconnect and lets requests finish;
SIGQUIT stops at once; the worker tells the master it is alive from the event
loop, so a loop blocked for ``--timeout`` gets the worker replaced (the master's
SIGABRT ends the process even while a handler blocks the loop).

``module:app`` names the Flask app set up with ``SocketIO(app)`` (or the
``SocketIO`` object), as for the ``surge`` command.  With ``-w`` above 1 the
workers act as one server as those of ``socketio.run(workers=N)`` do
(surge.peers): every request of a session reaches the worker that owns it, and
emits, rooms, acks and ``fetch_sockets`` cross workers (through the
``message_queue`` when there is one).  Not over gunicorn's own TLS: a TLS
connection cannot be passed to another process (a WARNING says so).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from gunicorn.sock import ssl_context
from gunicorn.workers.base import Worker

from surge import peers
from surge.cli import socketio_of
from surge.runtime.server import HttpServer

log = logging.getLogger("surge")

TLS_WORKERS = (
    "gunicorn runs %d SurgeWorker processes with TLS: a TLS connection cannot be passed to the worker that owns "
    "its session, so each worker serves only its own (a long-polling request reaching another worker is refused). "
    "Terminate TLS in front of gunicorn, or run -w 1."
)


class SurgeWorker(Worker):  # type: ignore[misc]  # gunicorn ships no type hints
    """A gunicorn worker running Surge's asyncio server."""

    def handle_abort(self, sig: int, frame: Any) -> None:
        # The master's SIGABRT after --timeout: the loop is blocked, so the worker ends here (gunicorn's
        # sys.exit would surface inside the blocking handler, and the loop would swallow it and go on).
        self.alive = False
        self.cfg.worker_abort(self)
        os._exit(1)

    def handle_quit(self, sig: int, frame: Any) -> None:
        # SIGQUIT: stop at once, as gunicorn's workers do (and for the same reason as above, for real).
        self.alive = False
        self.cfg.worker_int(self)
        os._exit(0)

    def init_signals(self) -> None:
        # SIGTERM and SIGINT are the loop's (a graceful stop, surge.runtime.server.serve);
        # SIGQUIT and SIGABRT keep gunicorn's meaning (at once), SIGUSR1 reopens the log files.
        for sig in self.SIGNALS:
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, self.handle_quit)
        signal.signal(signal.SIGABRT, self.handle_abort)
        signal.signal(signal.SIGUSR1, self.handle_usr1)
        signal.siginterrupt(signal.SIGUSR1, False)

    def run(self) -> None:
        socketio, app = socketio_of(self.wsgi)  # gunicorn has checked that it is callable
        surge_log = logging.getLogger("surge")
        if not surge_log.handlers:  # Surge's messages go where gunicorn's error log goes
            surge_log.handlers = self.log.error_log.handlers
            surge_log.setLevel(self.log.error_log.level)
            surge_log.propagate = False
        if self.cfg.workers > 1 and self.cfg.is_ssl:
            log.warning(TLS_WORKERS, self.cfg.workers)
        elif self.cfg.workers > 1:
            slot, self._slot_lock = peers.join(peers.directory_of(self.ppid, self.cfg.worker_tmp_dir))
            socketio.core.worker = slot
        if self.cfg.max_requests > 0:
            log.warning("SurgeWorker does not restart after max_requests: its WebSockets outlive requests")
        tls = ssl_context(self.cfg) if self.cfg.is_ssl else None

        def started(server: HttpServer) -> None:
            self.log.info("Surge serving %r on %s", getattr(app, "name", "app"), ", ".join(map(str, self.sockets)))
            self._heartbeat(server.loop, socketio)

        socketio.serve(app, "", 0, on_started=started, ssl=tls, sockets=[listener.sock for listener in self.sockets])

    def _heartbeat(self, loop: asyncio.AbstractEventLoop, socketio: Any) -> None:
        """Tell the master, from the loop, that this worker lives; stop when the master is gone."""
        self.notify()
        if os.getppid() != self.ppid:
            self.log.info("Parent changed, shutting down: %s", self)
            socketio.stop()
            return
        loop.call_later(self.timeout or 1.0, self._heartbeat, loop, socketio)
