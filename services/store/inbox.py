"""The idempotent-consumer inbox: which events have been applied."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from services.store.db import insert_for, now_us
from services.store.tables import AppliedEvent

_TABLE = AppliedEvent.__table__  # type: ignore[attr-defined]


def claim(conn: Connection, event_ids: Iterable[str]) -> set[str]:
    """Record the ids as applied and return those that were not already.

    Call inside the transaction that applies the events: if it rolls back, the
    claim does too, so an event is applied exactly when it is recorded.
    """
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    at = now_us()
    # Rows as parameters, not .values(rows): the statement compiles once and is
    # cached, instead of once per batch with a bind parameter per cell.
    stmt = (
        insert_for(conn.dialect.name, _TABLE)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(_TABLE.c.id)
    )
    return set(conn.execute(stmt, [{"id": i, "applied_at_us": at} for i in ids]).scalars())


def applied_count(conn: Connection) -> int:
    """How many events have been applied: it grows with every event a worker applies.

    The goal report's cache keys on it. Cheap on SQLite (count(*) walks the smallest
    index); a scan on PostgreSQL, still far below a report's cost.
    """
    return int(conn.execute(select(func.count()).select_from(_TABLE)).scalar_one())
