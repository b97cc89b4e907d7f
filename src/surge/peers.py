"""``gunicorn -k surge.workers.SurgeWorker -w N``: the workers of one master act as one server (front layer).

What the supervisor of ``workers=N`` does (surge.supervisor) the workers do here
among themselves, in a directory of their master's
(``<tmp>/surge-gunicorn-<master pid>``, private to its user): each takes the
lowest free slot (a lock file it holds while it lives, so a worker started in a
dead one's place takes its slot), which starts its session ids
(surge.runtime.handoff), listens on ``handoff-<slot>.sock`` for connections
other workers pass it, and on ``bus-<slot>.sock`` for their messages
(surge.queue.peer_bus).
"""

from __future__ import annotations

import fcntl
import os
import socket
import stat
import tempfile
from pathlib import Path

from surge.queue.peer_bus import bus_path
from surge.runtime import handoff
from surge.supervisor import WorkerSlot


def directory_of(master: int, base: str | None = None) -> Path:
    """The master's directory, made private to this user (refused if someone else made it)."""
    path = Path(base or tempfile.gettempdir()) / f"surge-gunicorn-{master}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise RuntimeError(f"{path} is not a directory of this user's alone; remove it")
    return path


def handoff_path(directory: Path, slot: int) -> Path:
    return directory / f"handoff-{slot}.sock"


def join(directory: Path) -> tuple[WorkerSlot, int]:
    """This worker's slot and sockets; also the lock's descriptor, to keep open while it lives."""
    for slot in range(handoff.MAX_WORKERS):
        lock = os.open(directory / f"slot-{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            continue
        return WorkerSlot(
            slot, handoff.MAX_WORKERS, _bus(directory, slot), _handoff(directory, slot), None, directory
        ), lock
    raise RuntimeError(f"more than {handoff.MAX_WORKERS} SurgeWorker processes for one master")


def _bound(kind: int, path: Path) -> socket.socket:
    path.unlink(missing_ok=True)  # a dead worker's, of this slot
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.bind(str(path))
    return sock


def _bus(directory: Path, slot: int) -> socket.socket:
    sock = _bound(socket.SOCK_STREAM, bus_path(directory, slot))
    sock.listen(64)
    return sock


def _handoff(directory: Path, slot: int) -> socket.socket:
    sock = _bound(socket.SOCK_DGRAM, handoff_path(directory, slot))
    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
        sock.setsockopt(socket.SOL_SOCKET, option, 4 * handoff.MAX_MESSAGE)
    return sock
