"""Child processes that die with their parent, and free loopback ports."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child if the parent dies, even by
    # SIGKILL, so no broker or worker is left behind.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    own_group: bool = False,
) -> subprocess.Popen[bytes]:
    """Start argv with its output appended to `log` (or discarded).

    `own_group`: the child leads a new process group (and session), so that
    os.killpg reaches it and whatever it forks, and a Ctrl-C in the terminal
    does not.
    """
    with contextlib.ExitStack() as stack:
        out: IO[Any] | int = subprocess.DEVNULL
        if log is not None:
            # The child keeps its own copy of the descriptor; ours closes on return.
            out = stack.enter_context(log.open("ab"))
        return subprocess.Popen(  # noqa: S603 - argv is built by opstrack, not from input
            list(argv),
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            start_new_session=own_group,
        )


def stop(procs: Sequence[subprocess.Popen[bytes]], grace: float = 10.0) -> None:
    """SIGTERM all, wait up to `grace` seconds, then SIGKILL what is left."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now.

    With SO_REUSEADDR, as uvicorn, aiohttp (faust's web server) and Tansu bind:
    connections of a server that just stopped linger in TIME_WAIT for a minute,
    and without it they would make the port look taken although a new server
    can listen on it at once.
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def wait_port_free(host: str, port: int, timeout: float) -> bool:
    """port_free, waiting up to `timeout` s: a previous server may still be stopping."""
    deadline = time.monotonic() + timeout
    while not port_free(host, port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def wait_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False
