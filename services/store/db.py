"""Engines for SQLite (default, WAL) and PostgreSQL, and dialect-aware upserts."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.url import make_url
from sqlmodel import SQLModel, create_engine

from services.store import tables  # noqa: F401  (registers the tables on the metadata)


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgresql://` is taken to mean the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A bounded connect timeout: an unreachable server fails fast and is retried,
    # instead of hanging a worker for the length of a TCP timeout.
    return create_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        connect_args={"connect_timeout": 5},
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API append to the outbox while a worker writes buckets;
    # NORMAL sync is durable across application crashes in WAL mode.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def init_db(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


def insert_for(engine_or_dialect: Engine | str, table: Table) -> Any:
    """INSERT with ON CONFLICT support for the engine's dialect."""
    name = (
        engine_or_dialect if isinstance(engine_or_dialect, str) else engine_or_dialect.dialect.name
    )
    module: Any = postgresql if name == "postgresql" else sqlite
    return module.insert(table)


def now_us() -> int:
    return time.time_ns() // 1000
