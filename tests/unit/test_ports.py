"""A port that a stopped server's connections still hold (TIME_WAIT, FIN_WAIT) is free:
servers bind with SO_REUSEADDR, so `opstrack up` must not call it taken. Real sockets."""

from __future__ import annotations

import socket

from services.stack.procs import port_free, wait_port_free


def test_a_port_held_only_by_closing_connections_is_free_and_a_listening_one_is_not() -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    try:
        assert not port_free("127.0.0.1", port)  # listening
        assert not wait_port_free("127.0.0.1", port, timeout=0.3)
        # The server closes first, as a stopping server does: its side lingers on the port.
        accepted.close()
        server.close()
        with socket.socket() as plain:  # without SO_REUSEADDR the port looks taken
            try:
                plain.bind(("127.0.0.1", port))
                lingered = False
            except OSError:
                lingered = True
        assert lingered, "the closed connection did not hold the port"
        assert port_free("127.0.0.1", port)
        assert wait_port_free("127.0.0.1", port, timeout=0.0)
    finally:
        client.close()
