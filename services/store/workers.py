"""Processor heartbeats: each worker says every few seconds how many partitions it holds."""

from __future__ import annotations

from sqlalchemy import Connection, select

from services.store.db import insert_for, now_us
from services.store.tables import WorkerBeat

BEATS = WorkerBeat.__table__  # type: ignore[attr-defined]
FRESH_US = 10_000_000  # a worker unheard of for 10 s is taken to be gone


def beat(conn: Connection, worker_id: str, partitions: int) -> None:
    ins = insert_for(conn.dialect.name, BEATS).values(
        worker_id=worker_id, seen_at_us=now_us(), partitions=partitions
    )
    conn.execute(
        ins.on_conflict_do_update(
            index_elements=["worker_id"],
            set_={"seen_at_us": ins.excluded.seen_at_us, "partitions": ins.excluded.partitions},
        )
    )


def any_consuming(conn: Connection) -> bool:
    query = select(BEATS.c.worker_id).where(
        BEATS.c.seen_at_us > now_us() - FRESH_US, BEATS.c.partitions > 0
    )
    return conn.execute(query.limit(1)).first() is not None


def forget_all(conn: Connection) -> None:
    """Drop every heartbeat: `opstrack up` owns its workers, and a stopped one's
    last beat would otherwise make /readyz say ready before the new one consumes."""
    conn.execute(BEATS.delete())
