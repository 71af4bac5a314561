"""Shared fixtures: the real embedded broker, real PostgreSQL and SQLite; no mocks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text

from services.stack.broker import EmbeddedBroker
from services.store.db import make_engine
from services.store.migrate import init_db
from tests.ci_skips import pytest_make_collect_report, pytest_runtest_makereport
from tests.kafka.cluster import KafkaCluster

# Hooks defined in tests/ci_skips.py, registered by being names in this conftest.
__all__ = ["pytest_make_collect_report", "pytest_runtest_makereport"]

# No timed assertions on these shared, noisy machines: a slow example is not a failure.
hypothesis_settings.register_profile("opstrack", deadline=None)
hypothesis_settings.load_profile("opstrack")

PG_URL = os.environ.get("OPSTRACK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# The bearer token every test's API accepts (OPSTRACK_DEV_TOKEN) and every client
# sends (OPSTRACK_API_TOKEN), set for the session by `_test_token`, so that a
# test that posts events needs nothing more than AUTH on its raw HTTP requests.
# The tests of access control itself (test_auth*.py) set their own.
TEST_TOKEN = "test-token-known-to-every-test"  # noqa: S105 - a test value, no secret
AUTH = {"authorization": f"Bearer {TEST_TOKEN}"}


@pytest.fixture(scope="session", autouse=True)
def _test_token() -> Iterator[None]:
    names = ("OPSTRACK_DEV_TOKEN", "OPSTRACK_API_TOKEN")
    old = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, TEST_TOKEN))
    yield
    for name, value in old.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One Tansu broker for the whole session; tests use their own topic names."""
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture(scope="session")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    """Three Apache Kafka brokers (KRaft) for the whole session, as production runs
    them: replication factor 3, min.insync.replicas 2. Tests use their own topic
    prefixes (KafkaCluster.opstrack_env); one that kills a broker restarts it."""
    with KafkaCluster(nodes=3, workdir=tmp_path_factory.mktemp("kafka")) as cluster:
        yield cluster


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema per test, so tests and workers never see each other's rows."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'opstrack.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    init_db(eng)
    yield eng
    eng.dispose()
