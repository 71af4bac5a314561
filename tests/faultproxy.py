"""A TCP proxy for fault tests: `cut()` makes the server behind it unreachable, `restore()`
brings it back.

While cut, connections it holds are reset and new ones are closed as soon as they are
accepted, which a client sees as the server going away: the same errors as a database
restart or a network partition, without touching the real server that other tests use.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType


class FaultProxy:
    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self._listener = socket.create_server((host, 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.accepted = 0  # connections passed through, for the test to show
        self.refused = 0  # connections closed because the proxy was cut
        # Connections a cut reset while a request was in flight: the client had sent
        # bytes the server had not yet answered (a statement inside a write, say).
        self.interrupted = 0
        self._awaiting: set[socket.socket] = set()  # clients whose request is unanswered
        self._thread = threading.Thread(target=self._accept, name="faultproxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Reset every open connection and refuse new ones until `restore()`."""
        self._cut.set()
        with self._lock:
            held, self._open = self._open, set()
            self.interrupted += len(self._awaiting & held)
            self._awaiting.clear()
        for s in held:
            _reset(s)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._listener.close()
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            if self._cut.is_set():
                self.refused += 1
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            self.accepted += 1
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b, client), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, client: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    # A request is in flight from the client's bytes to the server's answer.
                    if src is client:
                        self._awaiting.add(client)
                    else:
                        self._awaiting.discard(client)
                dst.sendall(data)
        except OSError:
            pass
        # One side ended: end the other too, so neither waits on a half-open connection.
        with self._lock:
            self._open -= {src, dst}
            self._awaiting.discard(client)
        _reset(src)
        _reset(dst)


def _reset(s: socket.socket) -> None:
    # SO_LINGER 0 makes close() send a RST: the peer fails at once, as on a crash.
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
