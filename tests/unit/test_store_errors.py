"""Which store errors the worker retries and which it sets aside (services.store.errors).

SQLite's errors are the real ones, raised by statements against a real database
file; psycopg's are the driver's own classes for the SQLSTATEs PostgreSQL sends
(tests/integration/test_store_errors.py provokes the main ones on a real server). The
expected verdicts are written out by hand from the SQLSTATE and SQLite manuals.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import psycopg.errors
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from services.store.errors import is_permanent

# (SQLSTATE, what it is, permanent?)
POSTGRES: list[tuple[str, str, bool]] = [
    ("08006", "connection failure", False),
    ("08003", "connection does not exist", False),
    ("40001", "serialization failure", False),
    ("40P01", "deadlock detected", False),
    ("55P03", "lock not available (lock_timeout, NOWAIT)", False),
    ("57P01", "admin shutdown", False),
    ("57P03", "cannot connect now (starting up)", False),
    ("57014", "query canceled (statement_timeout)", False),
    ("53100", "disk full", False),
    ("53300", "too many connections", False),
    ("58030", "I/O error", False),
    ("42P01", "undefined table (a bug or a migration not run: not the event's fault)", False),
    ("22001", "string data right truncation (value too long)", True),
    ("22021", "character not in repertoire (invalid text)", True),
    ("22P05", "untranslatable character", True),
    ("22003", "numeric value out of range", True),
    ("22007", "invalid datetime format", True),
    ("23505", "unique violation", True),
    ("23502", "not null violation", True),
    ("23514", "check violation", True),
    ("54000", "program limit exceeded (index row too large)", True),
]


def _wrapped(orig: Exception, *, invalidated: bool = False) -> DBAPIError:
    """As SQLAlchemy hands it to the worker: its own class around the driver's."""
    exc = DBAPIError.instance(
        "INSERT ...", {}, orig, psycopg.Error, connection_invalidated=invalidated
    )
    assert isinstance(exc, DBAPIError)
    return exc


@pytest.mark.parametrize(("code", "what", "permanent"), POSTGRES, ids=[c for c, _, _ in POSTGRES])
def test_postgres_errors_by_sqlstate(code: str, what: str, permanent: bool) -> None:
    exc = psycopg.errors.lookup(code)(what)
    assert exc.sqlstate == code
    assert is_permanent(exc) is permanent
    assert is_permanent(_wrapped(exc)) is permanent


def test_psycopg_refusing_a_nul_before_sending_is_permanent() -> None:
    # What psycopg raises for "a\x00b" as text: no SQLSTATE, a DataError by class.
    exc = psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    assert exc.sqlstate is None
    assert is_permanent(exc)
    assert is_permanent(_wrapped(exc))


def test_a_lost_connection_is_transient() -> None:
    exc = psycopg.OperationalError("server closed the connection unexpectedly")
    assert not is_permanent(exc)
    assert not is_permanent(_wrapped(exc))
    # SQLAlchemy saw the connection die: whatever the driver said, retry.
    assert not is_permanent(_wrapped(psycopg.errors.lookup("22001")("x"), invalidated=True))


def test_an_error_that_is_not_the_stores_is_not_a_permanent_store_error() -> None:
    assert not is_permanent(ValueError("x"))
    assert not is_permanent(KeyError("x"))


# --- SQLite: the real errors ----------------------------------------------------------


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'e.db'}", connect_args={"timeout": 0})
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE t (id INTEGER PRIMARY KEY, q TEXT NOT NULL CHECK (q <> 'x'))")
        )
        conn.execute(text("INSERT INTO t VALUES (1, 'a')"))
    yield engine
    engine.dispose()


def _raised(engine: Engine, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(text(sql))
    assert isinstance(caught.value.orig, sqlite3.Error)
    return caught.value


@pytest.mark.parametrize(
    ("sql", "errorname"),
    [
        ("INSERT INTO t VALUES (1, 'b')", "SQLITE_CONSTRAINT_PRIMARYKEY"),
        ("INSERT INTO t VALUES (2, NULL)", "SQLITE_CONSTRAINT_NOTNULL"),
        ("INSERT INTO t VALUES (2, 'x')", "SQLITE_CONSTRAINT_CHECK"),
        ("INSERT INTO t VALUES ('two', 'b')", "SQLITE_MISMATCH"),
    ],
)
def test_sqlite_constraint_and_type_errors_are_permanent(
    sqlite: Engine, sql: str, errorname: str
) -> None:
    exc = _raised(sqlite, sql)
    assert exc.orig.sqlite_errorname == errorname  # type: ignore[union-attr]
    assert is_permanent(exc)
    assert is_permanent(exc.orig)  # type: ignore[arg-type]


def test_sqlite_database_is_locked_is_transient(sqlite: Engine) -> None:
    holder = sqlite.raw_connection()
    try:
        holder.cursor().execute("BEGIN IMMEDIATE")  # another writer holds the lock
        exc = _raised(sqlite, "INSERT INTO t VALUES (3, 'c')")
        assert "database is locked" in str(exc.orig)
        assert exc.orig.sqlite_errorname == "SQLITE_BUSY"  # type: ignore[union-attr]
        assert not is_permanent(exc)
    finally:
        holder.rollback()
        holder.close()


def test_sqlite_no_such_table_is_not_the_events_fault(sqlite: Engine) -> None:
    assert not is_permanent(_raised(sqlite, "INSERT INTO nowhere VALUES (1)"))
