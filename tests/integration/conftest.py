"""Fixtures of the integration tests: a processor worker's environment."""

from __future__ import annotations

import gc
import logging
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from services.api.main import create_app
from services.ingest.kafka import ensure_topics
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.stack.procs import free_port, spawn
from services.store.db import make_engine
from services.store.migrate import init_db
from tests.e2e.stack import up  # noqa: F401  (the fixture: `opstrack up` in a subprocess)
from tests.waiting import wait_until


@pytest.fixture
def worker_env(broker: EmbeddedBroker, pg_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """OPSTRACK_* variables for a worker of its own: topics, PostgreSQL schema, port."""
    yield worker_env_for(broker, pg_url, tmp_path)


@pytest.fixture
def any_db_worker_env(
    broker: EmbeddedBroker, db_url: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """As worker_env, once on SQLite and once on PostgreSQL."""
    yield worker_env_for(broker, db_url, tmp_path)


def worker_env_for(broker: EmbeddedBroker, db_url: str, tmp_path: Path) -> dict[str, str]:
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    env = {
        "OPSTRACK_DATABASE_URL": db_url,
        "OPSTRACK_KAFKA_BOOTSTRAP": broker.bootstrap,
        "OPSTRACK_TOPIC_PREFIX": prefix,
        "OPSTRACK_WORKER_WEB_PORT": str(free_port()),
        "OPSTRACK_WORKER_DATADIR": str(tmp_path / "worker"),
    }
    settings = Settings(database_url=db_url, kafka_bootstrap=broker.bootstrap, topic_prefix=prefix)
    ensure_topics(broker.bootstrap, settings.topic_partitions())
    engine = make_engine(db_url)
    init_db(engine)
    engine.dispose()
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return spawn([sys.executable, "-m", "services.cli", "worker"], env, log)


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The API served by uvicorn in a thread (its lifespan runs the relay); yields its URL."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-api", daemon=True)
    thread.start()
    wait_until(
        lambda: server.started,
        "the API (uvicorn in a thread) to start",
        30,
        interval=0.05,
        give_up=lambda: None if thread.is_alive() else "its thread ended",
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def tolerates_kafka_socket_leak(test: Callable[..., None]) -> Callable[..., None]:
    """kafka-python 3.0.12 does not close a socket whose connect was refused.

    `kafka/net/inet.py` KafkaNetSocket.sock_connect raises without closing it, so each
    refused connect leaves an unclosed socket behind (a ResourceWarning when collected).
    That is the client library's doing, not opstrack's: tolerated only in the tests that
    point a client at a closed port; their `kafka_log` fixture collects the garbage
    before they end, so no warning reaches a later test.
    """
    test = pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")(test)
    marked: Callable[..., None] = pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    )(test)
    return marked


@pytest.fixture
def kafka_log() -> Iterator[list[str]]:
    """Warnings of kafka-python and of the relay, as text, kept away from pytest.

    Their records carry the connection errors, whose tracebacks hold the leaked
    sockets; pytest keeps the records it captures (even from loggers that do not
    propagate) past the test, so the sockets would be collected, and warn, in some
    later test. A filter on each logger keeps the text and drops the record; the
    garbage is then collected here, where the warnings are tolerated.
    """
    lines: list[str] = []

    def keep(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            lines.append(f"{record.name} {record.levelname} {record.getMessage()}")
        return False

    names = [n for n in logging.root.manager.loggerDict if n == "kafka" or n.startswith("kafka.")]
    loggers = [logging.getLogger(n) for n in [*names, "services.ingest.relay"]]
    for lg in loggers:
        lg.addFilter(keep)
    try:
        yield lines
    finally:
        for lg in loggers:
            lg.removeFilter(keep)
        gc.collect()


# Named in hours by the shared metric contract of issue 11, like the board's 20 h
# target and the API's handling_time_hours; promtool's lint wants base units
# (seconds). That one finding is let through for these names, and nothing else.
HOURS_BY_CONTRACT = (
    "opstrack_ticket_handling_hours",
    "opstrack_period_tickets_handling_hours",
    "opstrack_period_tickets_group_handling_hours",
)
_HOURS_LINT = 'use base unit "seconds" instead of "hours"'


def promtool_lint(text: str) -> list[str]:
    """`promtool check metrics` on an exposition: its findings, less the contract's hours."""
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, check=False
    )
    found = (lint.stdout.decode() + lint.stderr.decode()).splitlines()
    allowed = {
        f"{name}{suffix} {_HOURS_LINT}" for name in HOURS_BY_CONTRACT for suffix in ("", "_created")
    }
    problems = [line for line in found if line.strip() and line.strip() not in allowed]
    # Exit 3 is "lint findings"; anything else non-zero (1: unparsable) is a failure.
    if lint.returncode not in (0, 3):
        problems.append(f"promtool exited {lint.returncode}")
    return problems
