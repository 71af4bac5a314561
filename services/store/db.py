"""Engines for SQLite (default, WAL) and PostgreSQL, and dialect-aware upserts."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.url import make_url
from sqlmodel import create_engine

from services.store import tables  # noqa: F401  (registers the tables on the metadata)


def make_engine(url: str) -> Engine:
    """An engine for `url`; `postgresql://` is taken to mean the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        _create_private(parsed.database)
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


def _create_private(database: str | None) -> None:
    """Create a new SQLite file 0600 before SQLite does (it would make it 0644): its
    -wal and -shm files take the database file's mode, so they are private too."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        fd = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except (FileExistsError, FileNotFoundError):
        return  # there already (its mode is its owner's), or no such directory: SQLite says so
    os.close(fd)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API append to the outbox while a worker writes buckets;
    # NORMAL sync is durable across application crashes in WAL mode.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def insert_for(engine_or_dialect: Engine | str, table: Table) -> Any:
    """INSERT with ON CONFLICT support for the engine's dialect."""
    name = (
        engine_or_dialect if isinstance(engine_or_dialect, str) else engine_or_dialect.dialect.name
    )
    module: Any = postgresql if name == "postgresql" else sqlite
    return module.insert(table)


def now_us() -> int:
    return time.time_ns() // 1000


def upsert(conn: Connection, table: Table, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """Insert rows, replacing every non-key column of rows whose keys exist."""
    if not rows:
        return
    ins = insert_for(conn.dialect.name, table)
    others = [c.name for c in table.columns if c.name not in keys]
    stmt = ins.on_conflict_do_update(index_elements=keys, set_={c: ins.excluded[c] for c in others})
    # Sorted by key: concurrent writers lock rows in one order and cannot deadlock.
    conn.execute(stmt, sorted(rows, key=lambda r: tuple(r[k] for k in keys)))


def us(t: datetime | None) -> int | None:
    """An aware datetime as UTC epoch microseconds (how the store keeps instants)."""
    return None if t is None else round(t.timestamp() * 1_000_000)


def from_us(v: int | None) -> datetime | None:
    return None if v is None else datetime.fromtimestamp(v / 1_000_000, tz=UTC)
