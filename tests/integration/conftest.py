"""Fixtures of the integration tests: a processor worker's environment."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from services.api.main import create_app
from services.ingest.kafka import ensure_topics
from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from services.stack.procs import free_port, spawn
from services.store.db import init_db, make_engine


@pytest.fixture
def worker_env(broker: EmbeddedBroker, pg_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """OPSTRACK_* variables for a worker of its own: topics, PostgreSQL schema, port."""
    prefix = f"t{uuid.uuid4().hex[:8]}-"
    env = {
        "OPSTRACK_DATABASE_URL": pg_url,
        "OPSTRACK_KAFKA_BOOTSTRAP": broker.bootstrap,
        "OPSTRACK_TOPIC_PREFIX": prefix,
        "OPSTRACK_WORKER_WEB_PORT": str(free_port()),
        "OPSTRACK_WORKER_DATADIR": str(tmp_path / "worker"),
    }
    settings = Settings(database_url=pg_url, kafka_bootstrap=broker.bootstrap, topic_prefix=prefix)
    ensure_topics(broker.bootstrap, settings.topic_partitions())
    engine = make_engine(pg_url)
    init_db(engine)
    engine.dispose()
    yield env


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
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
