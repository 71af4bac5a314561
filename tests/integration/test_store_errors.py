"""services.store.errors on the errors a real PostgreSQL server and psycopg raise.

Each error is provoked for real through SQLAlchemy (as the worker meets it); the
verdict expected is the one the SQLSTATE manual gives: the data's fault, or not.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from services.store.errors import is_permanent

pytestmark = pytest.mark.integration


@pytest.fixture
def pg(pg_url: str) -> Iterator[Engine]:
    engine = create_engine(pg_url, isolation_level="READ COMMITTED")
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE t (id int PRIMARY KEY, q varchar(5) NOT NULL CHECK (q <> 'x'))")
        )
        conn.execute(text("INSERT INTO t VALUES (1, 'a'), (2, 'b')"))
    yield engine
    engine.dispose()


def _raised(conn: Connection, sql: str, **params: object) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught:
        conn.execute(text(sql), params)
    return caught.value


@pytest.mark.parametrize(
    ("sql", "params", "sqlstate"),
    [
        ("INSERT INTO t VALUES (3, :q)", {"q": "a\x00b"}, None),  # psycopg refuses NUL itself
        ("INSERT INTO t VALUES (3, :q)", {"q": "toolong"}, "22001"),
        ("INSERT INTO t VALUES (1, 'c')", {}, "23505"),
        ("INSERT INTO t VALUES (3, NULL)", {}, "23502"),
        ("INSERT INTO t VALUES (3, 'x')", {}, "23514"),
        ("INSERT INTO t VALUES (3000000000, 'c')", {}, "22003"),
    ],
)
def test_the_datas_fault_is_permanent(
    pg: Engine, sql: str, params: dict[str, object], sqlstate: str | None
) -> None:
    with pg.connect() as conn:
        exc = _raised(conn, sql, **params)
    assert getattr(exc.orig, "sqlstate", None) == sqlstate
    assert is_permanent(exc)


def test_a_lock_timeout_is_transient(pg: Engine) -> None:
    with pg.connect() as holder, pg.connect() as waiter:
        holder.execute(text("SELECT * FROM t WHERE id = 1 FOR UPDATE"))
        waiter.execute(text("SET lock_timeout = '50ms'"))
        exc = _raised(waiter, "UPDATE t SET q = 'c' WHERE id = 1")
        assert exc.orig.sqlstate == "55P03"  # type: ignore[union-attr]
        assert not is_permanent(exc)


def test_a_serialization_failure_is_transient(pg: Engine) -> None:
    serializable = pg.execution_options(isolation_level="SERIALIZABLE")
    with serializable.connect() as one, serializable.connect() as two:
        # Each reads what the other writes: the second to commit cannot be serialized.
        one.execute(text("SELECT sum(id) FROM t WHERE id = 1"))
        two.execute(text("SELECT sum(id) FROM t WHERE id = 2"))
        one.execute(text("UPDATE t SET q = 'c' WHERE id = 2"))
        two.execute(text("UPDATE t SET q = 'd' WHERE id = 1"))
        one.commit()
        with pytest.raises(DBAPIError) as caught:
            two.execute(text("SELECT 1"))
            two.commit()
        assert caught.value.orig.sqlstate == "40001"  # type: ignore[union-attr]
        assert not is_permanent(caught.value)


def test_a_deadlock_is_transient(pg: Engine) -> None:
    with pg.connect() as one, pg.connect() as two:
        one.execute(text("SET deadlock_timeout = '10ms'"))
        two.execute(text("SET deadlock_timeout = '10ms'"))
        one.execute(text("UPDATE t SET q = 'c' WHERE id = 1"))
        two.execute(text("UPDATE t SET q = 'd' WHERE id = 2"))
        # one waits for two's row (in a thread) while two waits for one's: PostgreSQL
        # ends one of the two transactions.
        failures: list[DBAPIError] = []

        def cross() -> None:
            try:
                one.execute(text("UPDATE t SET q = 'e' WHERE id = 2"))
            except DBAPIError as exc:
                failures.append(exc)

        waiting = threading.Thread(target=cross)
        waiting.start()
        try:
            two.execute(text("UPDATE t SET q = 'f' WHERE id = 1"))
        except DBAPIError as exc:
            failures.append(exc)
        two.rollback()
        waiting.join()
        one.rollback()
    assert [f.orig.sqlstate for f in failures] == ["40P01"]  # type: ignore[union-attr]
    assert not is_permanent(failures[0])


def test_a_terminated_connection_is_transient(pg: Engine) -> None:
    with pg.connect() as victim, pg.connect() as admin:
        pid = victim.execute(text("SELECT pg_backend_pid()")).scalar_one()
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        exc = _raised(victim, "INSERT INTO t VALUES (3, 'c')")
        assert not is_permanent(exc)
