"""`opstrack up`: broker, API and processor worker as child processes, stopped together."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy import Connection

from services.ingest.kafka import ensure_settings_topics
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.stack.procs import port_free, spawn, stop
from services.store import outbox, tokens, workers
from services.store.db import init_db, make_engine

DEV_SOURCE = "dev"


class StackError(RuntimeError):
    pass


@dataclass
class StackConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    worker_port: int = 6066
    database_url: str = "sqlite:///./opstrack.db"
    kafka: str | None = None  # None: start the embedded broker
    state_dir: Path = Path(".opstrack")
    ready_timeout: float = 90.0


@dataclass
class Stack:
    config: StackConfig
    bootstrap: str
    broker: EmbeddedBroker | None
    children: dict[str, subprocess.Popen[bytes]]
    log_dir: Path
    dev_token: str | None = None  # the token the stack's own clients (the demo) may use
    dev_token_new: bool = False  # generated on this start: print it, it is shown only now

    @property
    def api_url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    @property
    def worker_url(self) -> str:
        return f"http://127.0.0.1:{self.config.worker_port}"

    def stop(self) -> None:
        # Worker first (it commits what it has), then the API (its relay), then the broker.
        stop([p for n, p in self.children.items() if n == "worker"])
        stop([p for n, p in self.children.items() if n != "worker"])
        if self.broker is not None:
            self.broker.stop()

    def dead_child(self) -> str | None:
        for name, proc in self.children.items():
            if proc.poll() is not None:
                return name
        if (
            self.broker is not None
            and self.broker.proc is not None
            and self.broker.proc.poll() is not None
        ):
            return "broker"
        return None

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(config: StackConfig, step: Callable[[str], None] = lambda _: None) -> Stack:
    """Start everything and return once /readyz answers 200; on failure stop what started."""
    for port, option in ((config.port, "--port"), (config.worker_port, "--worker-port")):
        if not port_free(config.host if option == "--port" else "127.0.0.1", port):
            raise StackError(f"port {port} is in use: choose another with {option}")
    log_dir = config.state_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    broker: EmbeddedBroker | None = None
    stack: Stack | None = None
    try:
        if config.kafka is None:
            step("starting the embedded broker (Tansu, memory only)")
            broker = EmbeddedBroker(log=log_dir / "broker.log")
            broker.start()
            bootstrap = broker.bootstrap
        else:
            bootstrap = config.kafka
        settings = Settings(database_url=config.database_url, kafka_bootstrap=bootstrap)
        step("creating topics")
        ensure_settings_topics(settings)
        step("preparing the database")
        engine = make_engine(config.database_url)
        init_db(engine)
        with engine.begin() as conn:
            workers.forget_all(conn)
            if broker is not None:
                # The embedded broker forgot everything: resend what no worker applied yet.
                outbox.requeue_unapplied(conn)
            dev_token, dev_token_new = _dev_token(conn, settings)
        engine.dispose()
        env = {
            "OPSTRACK_DATABASE_URL": config.database_url,
            "OPSTRACK_KAFKA_BOOTSTRAP": bootstrap,
            "OPSTRACK_WORKER_WEB_PORT": str(config.worker_port),
            "OPSTRACK_WORKER_DATADIR": str(config.state_dir / "worker"),
        }
        me = [sys.executable, "-m", "services.cli"]
        children = {}
        step("starting the API and a processor worker")
        api_argv = [*me, "api", "--host", config.host, "--port", str(config.port)]
        children["api"] = spawn(api_argv, env, log_dir / "api.log")
        children["worker"] = spawn([*me, "worker"], env, log_dir / "worker.log")
        stack = Stack(config, bootstrap, broker, children, log_dir, dev_token, dev_token_new)
        step("waiting until ready")
        _wait_ready(stack)
        return stack
    except BaseException:
        if stack is not None:
            stack.stop()
        elif broker is not None:
            broker.stop()
        raise


def _dev_token(conn: Connection, settings: Settings) -> tuple[str | None, bool]:
    """OPSTRACK_DEV_TOKEN if set (made sure of), else a new one on a first start, when
    the store holds no token yet; later starts know no token in clear."""
    if settings.dev_token is not None:
        token = settings.dev_token.get_secret_value()
        tokens.ensure(conn, token, DEV_SOURCE, ("*",))
        return token, False
    if tokens.any_token(conn):
        return None, False
    return tokens.create(conn, DEV_SOURCE, ("*",), event_sources=("*",))[1], True


def demo_token(database_url: str) -> str:
    """A token for `opstrack demo` when it knows none: the previous demo token is
    replaced, so demos started again and again leave one behind, not many."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            tokens.revoke(conn, source="demo")
            return tokens.create(conn, "demo", ("*",), event_sources=("*",))[1]
    finally:
        engine.dispose()


def _wait_ready(stack: Stack) -> None:
    deadline = time.monotonic() + stack.config.ready_timeout
    last = ""
    while time.monotonic() < deadline:
        dead = stack.dead_child()
        if dead:
            raise StackError(
                f"the {dead} stopped while starting; its log ends:\n{stack.log_tail(dead)}"
            )
        try:
            r = httpx.get(f"{stack.api_url}/readyz", timeout=2)
            if r.status_code == 200:
                return
            last = r.text
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.1)  # a check is cheap; each one saved is time `opstrack up` looks busy
    raise StackError(f"not ready after {stack.config.ready_timeout:.0f}s: {last}")


def run_until_stopped(stack: Stack) -> int:
    """Block until Ctrl-C/SIGTERM (returns 0) or a child dies (returns 1)."""
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            dead = stack.dead_child()
            if dead:
                raise StackError(
                    f"the {dead} stopped unexpectedly; its log ends:\n{stack.log_tail(dead)}"
                )
            time.sleep(0.2)
        return 0
    finally:
        stack.stop()
        for s, handler in old.items():
            signal.signal(s, handler)
