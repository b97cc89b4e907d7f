"""``socketio.run(app, workers=N)``: one port, N worker processes acting as one server (front layer).

The supervisor binds the port, once per worker with ``SO_REUSEPORT`` (so the kernel
spreads connections evenly: with one shared socket, whichever worker wakes first
takes them all under load), and forks the workers.  It keeps every socket open, so
connections for a worker being replaced wait in its backlog rather than fail.
It starts no thread and no event loop: a ``selectors`` loop copies what workers
say to each other (the worker bus of surge.queue.worker_bus: emits, room
changes, acks, fetch_sockets) and passes connections to the worker that owns
their session (surge.runtime.handoff).  A worker that dies is replaced (and
logged); one whose event loop sends no heartbeat for ``timeout`` seconds (a
handler blocking it, as gunicorn's ``--timeout`` catches), or that leaves more
than ``MAX_BACKLOG`` bytes of the bus unread, is killed and replaced.  SIGTERM or SIGINT stops the workers gracefully (they
close their sessions with a disconnect); SIGHUP restarts them one at a time,
while the others keep the port open, so no connection is refused.  With a
``sequencer`` (connection state recovery and no message queue) the bus is
numbered, and the supervisor keeps the recovery sessions (surge.queue.sequencer).
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from surge.queue.sequencer import Sequencer
from surge.queue.worker_bus import SESSION, frame, frames
from surge.runtime import handoff

log = logging.getLogger("surge.supervisor")

MAX_BACKLOG = 64 * 1024 * 1024  # bus bytes a worker may leave unread before it is taken for stuck
STOP_GRACE = 15.0  # seconds the workers have to finish after SIGTERM
QUICK_DEATH = 1.0  # a worker that dies sooner than this after its start is restarted after a pause
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD)


@dataclass
class WorkerSlot:
    """What a worker process gets: its index, its ends of the bus and the hand-off channel, its listening socket.

    Under gunicorn (surge.peers) there is no supervisor: ``peers`` is the directory where the
    workers find each other, ``bus`` listens for the others' messages, ``handoff`` is a datagram
    socket the others send connections to, and gunicorn's sockets are the listeners.
    """

    index: int
    workers: int
    bus: socket.socket
    handoff: socket.socket
    listener: socket.socket | None
    peers: Path | None = None


@dataclass
class _Worker:
    pid: int
    bus: socket.socket
    handoff: socket.socket
    started: float
    beat: float  # its last heartbeat
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)


def listeners(host: str, port: int, workers: int) -> list[socket.socket]:
    """``workers`` sockets listening on one port (port 0: the first one's)."""
    first = socket.create_server((host, port), backlog=2048, reuse_port=True)
    port = first.getsockname()[1]
    return [first] + [socket.create_server((host, port), backlog=2048, reuse_port=True) for _ in range(workers - 1)]


class Supervisor:
    """Forks ``workers`` processes running ``serve(slot)``, one on each of ``listeners``, and keeps them running."""

    def __init__(
        self,
        listeners: list[socket.socket],
        serve: Callable[[WorkerSlot], None],
        timeout: float = 30.0,
        sequencer: Sequencer | None = None,
    ) -> None:
        workers = len(listeners)
        self.timeout = timeout
        if not 1 <= workers <= handoff.MAX_WORKERS:
            raise ValueError(f"workers must be between 1 and {handoff.MAX_WORKERS}")
        self.count = workers
        self.listeners = listeners
        self.serve = serve
        self.sequencer = sequencer
        self.workers: dict[int, _Worker] = {}
        self.selector = selectors.DefaultSelector()
        self.stopping = False
        self.rolling: list[int] = []  # SIGHUP: the workers still to restart, one at a time
        self._restarting: int | None = None
        self._last_spawn = 0.0
        self._signals: list[int] = []
        self._wake_r, self._wake_w = socket.socketpair()

    def run(self) -> None:
        """Supervise until SIGTERM or SIGINT; returns once every worker has exited."""
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        signal.set_wakeup_fd(self._wake_w.fileno())
        for sig in SIGNALS:
            signal.signal(sig, self._note)
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        for index in range(self.count):
            self._spawn(index)
        deadline = None
        while self.workers or not self.stopping:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait = 0.2 if self.rolling else (1.0 if timeout is None else min(timeout, 1.0))  # heartbeats checked
            for key, events in self.selector.select(wait):
                self._ready(key, events)
            self._handle_signals()
            self._check_heartbeats()
            if self.sequencer is not None:
                self.sequencer.sweep()
            if self.stopping and deadline is None:
                deadline = time.monotonic() + STOP_GRACE
                for worker in self.workers.values():
                    _kill(worker.pid, signal.SIGTERM)
            if deadline is not None and time.monotonic() > deadline:
                for worker in list(self.workers.values()):
                    log.warning("worker pid %d did not stop within %.0f s: killed", worker.pid, STOP_GRACE)
                    _kill(worker.pid, signal.SIGKILL)
                deadline = time.monotonic() + 1
            self._roll()
        signal.set_wakeup_fd(-1)

    # -- workers ---------------------------------------------------------------------------------

    def _spawn(self, index: int) -> None:
        bus, bus_child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        channel, channel_child = handoff.channel_pair()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                signal.set_wakeup_fd(-1)
                for sig in SIGNALS:
                    signal.signal(sig, signal.SIG_DFL)
                for other in self.workers.values():
                    other.bus.close()
                    other.handoff.close()
                for end in (bus, channel, self._wake_r, self._wake_w):
                    end.close()
                for other_index, listener in enumerate(self.listeners):
                    if other_index != index:
                        listener.close()
                self.selector.close()
                self.serve(WorkerSlot(index, self.count, bus_child, channel_child, self.listeners[index]))
                code = 0
            except BaseException:
                log.exception("worker %d failed", index)
            finally:
                os._exit(code)  # never run the supervisor's own clean-up in a worker
        bus_child.close()
        channel_child.close()
        bus.setblocking(False)
        channel.setblocking(False)
        now = time.monotonic()
        worker = self.workers[index] = _Worker(pid, bus, channel, now, now)
        self._last_spawn = worker.started
        self.selector.register(bus, selectors.EVENT_READ, (index, "bus"))
        self.selector.register(channel, selectors.EVENT_READ, (index, "handoff"))
        log.info("worker %d started (pid %d)", index, worker.pid)
        if self.sequencer is not None:
            for message in self.sequencer.past():
                worker.outbox += frame(message)
            self._flush(index, worker)

    def _forget(self, index: int) -> None:
        worker = self.workers.pop(index)
        for sock in (worker.bus, worker.handoff):
            self.selector.unregister(sock)
            sock.close()

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            index = next((i for i, w in self.workers.items() if w.pid == pid), None)
            if index is None:
                continue
            lived = time.monotonic() - self.workers[index].started
            self._forget(index)
            if self.sequencer is not None:
                self.sequencer.worker_gone(index)
            if self.stopping:
                continue
            if index == self._restarting:
                log.info("worker %d (pid %d) restarted", index, pid)
            else:
                log.warning("worker %d (pid %d) exited (%s); starting another", index, pid, _status(status))
            if lived < QUICK_DEATH:
                time.sleep(QUICK_DEATH)  # a worker that cannot start must not spin the machine
            self._spawn(index)
            if index == self._restarting:
                self._restarting = None

    def _check_heartbeats(self) -> None:
        now = time.monotonic()
        for index, worker in self.workers.items():
            if now - worker.beat > self.timeout and not self.stopping:
                log.error(
                    "worker %d (pid %d) silent for %.0f s (a handler blocking its event loop?): killed",
                    index,
                    worker.pid,
                    now - worker.beat,
                )
                worker.beat = now  # once; SIGCHLD brings its replacement
                _kill(worker.pid, signal.SIGKILL)

    def _roll(self) -> None:
        """SIGHUP: stop the next worker once the last one replaced has had time to start."""
        if self.stopping or self._restarting is not None or not self.rolling:
            return
        if time.monotonic() - self._last_spawn < QUICK_DEATH:
            return
        worker = self.workers.get(index := self.rolling.pop(0))
        if worker is not None:
            self._restarting = index
            _kill(worker.pid, signal.SIGTERM)

    # -- the loop ----------------------------------------------------------------------------------

    def _note(self, signum: int, frame: object) -> None:
        self._signals.append(signum)

    def _handle_signals(self) -> None:
        signals, self._signals = self._signals, []
        for signum in signals:
            if signum == signal.SIGCHLD:
                self._reap()
            elif signum == signal.SIGHUP and not self.stopping:
                log.info("SIGHUP: restarting the workers one at a time")
                self.rolling = sorted(self.workers)
            elif signum in (signal.SIGTERM, signal.SIGINT) and not self.stopping:
                log.info("stopping the workers")
                self.stopping = True

    def _ready(self, key: selectors.SelectorKey, events: int) -> None:
        if key.data is None:  # the signal wake-up
            try:
                while self._wake_r.recv(4096):
                    pass
            except BlockingIOError:
                pass
            return
        index, kind = key.data
        worker = self.workers.get(index)
        if worker is None:
            return
        if kind == "handoff":
            self._relay_handoff(worker)
        elif events & selectors.EVENT_WRITE:
            self._flush(index, worker)
        if kind == "bus" and events & selectors.EVENT_READ:
            self._relay_bus(index, worker)

    def _relay_bus(self, index: int, worker: _Worker) -> None:
        try:
            data = worker.bus.recv(1024 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            return  # the worker is exiting; SIGCHLD follows
        worker.inbox += data
        try:
            messages = frames(worker.inbox)
        except ValueError as exc:
            log.error("worker %d broke the bus (%s): killed", index, exc)
            _kill(worker.pid, signal.SIGKILL)
            return
        sequencer = self.sequencer
        for message in messages:
            if not message:  # a heartbeat
                worker.beat = time.monotonic()
                continue
            if sequencer is None:
                self._send_others(index, frame(message))
            elif message[:1] == SESSION:
                self._session(index, worker, message)
            else:
                self._send_others(None, frame(sequencer.number(message)))  # the sender too: one order

    def _send_others(self, sender: int | None, framed: bytes) -> None:
        for other_index, other in self.workers.items():
            if other_index != sender:
                other.outbox += framed
                self._flush(other_index, other)

    def _session(self, index: int, worker: _Worker, message: bytes) -> None:
        assert self.sequencer is not None
        try:
            op = json.loads(message[1:])
        except ValueError:
            log.error("worker %d sent a malformed session message", index)
            return
        answer = self.sequencer.session(index, op) if isinstance(op, dict) else None
        if answer is not None:
            worker.outbox += frame(answer)
            self._flush(index, worker)

    def _flush(self, index: int, worker: _Worker) -> None:
        if worker.outbox:
            try:
                sent = worker.bus.send(worker.outbox)
            except BlockingIOError:
                sent = 0
            except OSError:
                return
            del worker.outbox[:sent]
        if len(worker.outbox) > MAX_BACKLOG:
            log.error("worker %d (pid %d) left %d bus bytes unread: killed", index, worker.pid, len(worker.outbox))
            worker.outbox.clear()
            _kill(worker.pid, signal.SIGKILL)
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if worker.outbox else 0)
        self.selector.modify(worker.bus, events, (index, "bus"))

    def _relay_handoff(self, worker: _Worker) -> None:
        while True:
            try:
                data, fds, _flags, _address = socket.recv_fds(worker.handoff, handoff.MAX_MESSAGE + 2, 1)
            except BlockingIOError:
                return
            except OSError:
                return
            if not data:
                return
            target = self.workers.get(int.from_bytes(data[:2], "big"))
            for fd in fds:
                try:
                    if target is None:
                        raise OSError("no such worker")
                    socket.send_fds(target.handoff, [data], [fd])
                except OSError:
                    _refuse(fd)
                finally:
                    os.close(fd)


def _refuse(fd: int) -> None:
    """Answer a request whose session no live worker owns as the engine answers an unknown session."""
    try:
        os.write(fd, handoff.REFUSAL)
    except OSError:
        pass


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
