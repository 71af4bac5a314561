"""Leases: one worker among several holds a named job (e.g. exporting the period figures).

The holder renews its lease each time it does the job; a lease that is not renewed
expires, and the next worker that asks takes it over. Acquire and renew are one
upsert (INSERT ... ON CONFLICT DO UPDATE ... WHERE), which both SQLite and
PostgreSQL run atomically on the row, so two workers asking at once never both win.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from services.store.db import insert_for
from services.store.tables import Lease

LEASES = Lease.__table__  # type: ignore[attr-defined]


def acquire(conn: Connection, name: str, holder: str, now: datetime, ttl_seconds: float) -> bool:
    """Take or renew lease `name` for `holder` until now + ttl; True when `holder` has it.

    Taken when nobody holds it, it has expired, or `holder` already holds it.
    Call inside a transaction (engine.begin()): the read sees the write.
    """
    if ttl_seconds <= 0:
        raise ValueError(f"a lease needs a positive time to live, got {ttl_seconds}")
    now_us = round(now.timestamp() * 1_000_000)
    ins = insert_for(conn.dialect.name, LEASES).values(
        name=name, holder=holder, expires_at_us=now_us + round(ttl_seconds * 1_000_000)
    )
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["name"],
            set_={"holder": ins.excluded.holder, "expires_at_us": ins.excluded.expires_at_us},
            where=(LEASES.c.holder == ins.excluded.holder) | (LEASES.c.expires_at_us <= now_us),
        )
    )
    return holder_of(conn, name) == holder


def holder_of(conn: Connection, name: str) -> str | None:
    """Who holds lease `name` (expired or not); None when it was never taken."""
    row = conn.execute(select(LEASES.c.holder).where(LEASES.c.name == name)).first()
    return None if row is None else str(row.holder)


def release(conn: Connection, name: str, holder: str) -> None:
    """Give lease `name` up if `holder` has it, so another worker takes over at once."""
    conn.execute(LEASES.delete().where(LEASES.c.name == name, LEASES.c.holder == holder))
