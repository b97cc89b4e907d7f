"""A TCP proxy for tests that break connections on purpose (between a client and a server, or a
server and Redis): drop them loudly or silently, and refuse new ones for a while."""

from __future__ import annotations

import socket
import threading
import time


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.silenced: list[socket.socket] = []
        self.refusing_until = 0.0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self.refusing_until:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass

    def drop(self, silent: bool = False, refuse_for: float = 0.0) -> None:
        """End every connection on the client side; the server side too, unless ``silent``: then it
        stays open and nothing more reaches it, as when a phone changes cell.  New connections are
        closed at once for ``refuse_for`` seconds."""
        self.refusing_until = time.monotonic() + refuse_for
        pairs, self.pairs = self.pairs, []
        for client, upstream in pairs:
            _shutdown(client, socket.SHUT_RDWR)  # the client sees its connection end (and its pump wakes)
            client.close()
            if silent:
                _shutdown(upstream, socket.SHUT_RD)  # the other pump stops reading; the server sees no FIN
                self.silenced.append(upstream)
            else:
                _shutdown(upstream, socket.SHUT_RDWR)
                upstream.close()

    def close(self) -> None:
        self.listener.close()
        for client, upstream in self.pairs:
            client.close()
            upstream.close()
        for upstream in self.silenced:
            upstream.close()


def _shutdown(sock: socket.socket, how: int) -> None:
    try:
        sock.shutdown(how)
    except OSError:  # the other end closed it already
        pass
