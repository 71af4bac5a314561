"""`opstrack up`: broker, API and processor worker as child processes.

A child that dies is restarted with backoff (services/stack/restarts.py decides
when) while the others keep serving; all are stopped together.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import httpx
from kafka.errors import KafkaError
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from services.ingest.kafka import ensure_settings_topics
from services.observability.stack_metrics import write_restarts
from services.settings import Settings
from services.stack.broker import BrokerError, EmbeddedBroker
from services.stack.procs import port_free, spawn, stop, wait_port_free
from services.stack.restarts import Backoff, Restarts
from services.store import outbox, tokens, workers
from services.store.db import make_engine
from services.store.migrate import init_db

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
    # A previous `opstrack up` killed a moment ago may still be stopping its children
    # (they get SIGTERM when it dies; a worker takes a few seconds).
    port_timeout: float = 10.0


@dataclass(frozen=True)
class ChildSpec:
    argv: list[str]
    env: dict[str, str]
    log: Path


@dataclass
class Stack:
    config: StackConfig
    bootstrap: str
    broker: EmbeddedBroker | None
    children: dict[str, subprocess.Popen[bytes]]
    log_dir: Path
    dev_token: str | None = None  # the token the stack's own clients (the demo) may use
    dev_token_new: bool = False  # generated on this start: print it, it is shown only now
    specs: dict[str, ChildSpec] = field(default_factory=dict)  # how to start each child again

    @property
    def names(self) -> list[str]:
        return [*self.children, *(["broker"] if self.broker is not None else [])]

    @property
    def restarts_file(self) -> Path:
        return restarts_file(self.config)

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

    def alive(self, name: str) -> bool:
        if name == "broker":
            proc = self.broker.proc if self.broker is not None else None
        else:
            proc = self.children[name]
        return proc is not None and proc.poll() is None

    def exit_code(self, name: str) -> int | None:
        proc = self.children.get(name) or (self.broker.proc if self.broker else None)
        return None if proc is None else proc.poll()

    def dead_child(self) -> str | None:
        return next((name for name in self.names if not self.alive(name)), None)

    def restart(self, name: str) -> str:
        """Start a child that died again (the embedded broker on its port, empty);
        returns what else was done, for the log."""
        if name == "broker":
            if self.broker is None:
                raise StackError("the broker is not embedded: opstrack cannot restart it")
            self.broker.stop()  # reaps the dead process
            self.broker.start()
            try:
                requeued = _refill_broker(self.config, self.bootstrap)
            except (KafkaError, SQLAlchemyError) as exc:
                # The relay does the same when it reconnects: it just waits for that.
                return f"; not refilled ({exc}): the relay will, on its reconnect"
            return f"; {requeued} events no worker had applied are sent again"
        spec = self.specs[name]
        self.children[name] = spawn(spec.argv, spec.env, spec.log)
        return ""

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(config: StackConfig, step: Callable[[str], None] = lambda _: None) -> Stack:
    """Start everything and return once /readyz answers 200; on failure stop what started."""
    for port, option in ((config.port, "--port"), (config.worker_port, "--worker-port")):
        host = config.host if option == "--port" else "127.0.0.1"
        if port_free(host, port):
            continue
        step(f"waiting for port {port}, in use (a stack stopping?)")
        if not wait_port_free(host, port, config.port_timeout):
            raise StackError(
                f"port {port} is in use (still after {config.port_timeout:.0f} s):"
                f" choose another with {option}"
            )
    make_state_dir(config.state_dir)
    log_dir = config.state_dir / "logs"
    log_dir.mkdir(mode=0o700, exist_ok=True)
    # Counted from zero on every start (Prometheus takes a counter reset in its stride).
    names = ["api", "worker", *(["broker"] if config.kafka is None else [])]
    write_restarts(restarts_file(config), dict.fromkeys(names, 0))
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
            "OPSTRACK_STACK_STATE_FILE": str(restarts_file(config)),
        }
        me = [sys.executable, "-m", "services.cli"]
        specs = {
            "api": ChildSpec(
                [*me, "api", "--host", config.host, "--port", str(config.port)],
                env,
                log_dir / "api.log",
            ),
            "worker": ChildSpec([*me, "worker"], env, log_dir / "worker.log"),
        }
        step("starting the API and a processor worker")
        children = {name: spawn(s.argv, s.env, s.log) for name, s in specs.items()}
        stack = Stack(config, bootstrap, broker, children, log_dir, dev_token, dev_token_new, specs)
        step("waiting until ready")
        _wait_ready(stack)
        return stack
    except BaseException:
        if stack is not None:
            stack.stop()
        elif broker is not None:
            broker.stop()
        raise


def restarts_file(config: StackConfig) -> Path:
    return config.state_dir / "stack.json"


def make_state_dir(path: Path) -> None:
    """The state dir, created 0700: it holds logs and, off a terminal, the dev token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return
    path.chmod(0o700)  # mkdir's mode passes through the umask, which may be odd


def _refill_broker(config: StackConfig, bootstrap: str) -> int:
    """After the embedded broker restarted (empty): its topics, and every outbox event
    that no worker applied sent again, as on start; the inbox drops any repeats."""
    settings = Settings(database_url=config.database_url, kafka_bootstrap=bootstrap)
    ensure_settings_topics(settings)
    engine = make_engine(config.database_url)
    try:
        with engine.begin() as conn:
            return outbox.requeue_unapplied(conn)
    finally:
        engine.dispose()


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


def run_until_stopped(
    stack: Stack,
    say: Callable[[str], None] = lambda _: None,
    backoff: Backoff | None = None,
    before_stop: Callable[[], None] = lambda: None,
) -> int:
    """Block until Ctrl-C/SIGTERM (returns 0), restarting children that die.

    Raises StackError when a child keeps dying (backoff.give_up_after times in a
    row, never running well in between): then all are stopped. `before_stop` runs
    before the stack stops: what still talks to it (the demo's live feed) ends first.
    """
    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    now = time.monotonic()
    books = {name: Restarts(backoff or Backoff(), started_at=now) for name in stack.names}
    try:
        while not stopping:
            for name in books:
                _look_after(stack, books, name, time.monotonic(), say)
            time.sleep(0.2)
        return 0
    finally:
        try:
            before_stop()
        finally:
            stack.stop()
        for s, handler in old.items():
            signal.signal(s, handler)


def _look_after(
    stack: Stack, books: dict[str, Restarts], name: str, now: float, say: Callable[[str], None]
) -> None:
    """One look at one child: notice it died, or restart it once its delay is over."""
    book = books[name]
    if book.due(now):
        book.restarted(now)
        write_restarts(stack.restarts_file, {n: b.total for n, b in books.items()})
        try:
            done = stack.restart(name)
        except (BrokerError, StackError, OSError) as exc:
            # Counted as a run that ended at once: the next look finds it dead.
            say(f"the {name} did not start again: {exc}")
            return
        say(f"the {name} is running again (restart {book.total}){done}")
    elif not book.pending() and not stack.alive(name):
        code = stack.exit_code(name)
        delay = book.died(now)
        tail = stack.log_tail(name, lines=5)
        if delay is None:
            raise StackError(
                f"the {name} died {book.in_a_row} times in a row, each within "
                f"{book.backoff.healthy_after:.0f} s of its start: giving up; its log ends:\n{tail}"
            )
        say(
            f"the {name} stopped (exit code {code}); restarting it in {delay:g} s; "
            f"its log ends:\n{tail}"
        )
