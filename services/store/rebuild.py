"""What a rebuild clears and reads: derived rows from an hour on, and the outbox events to replay.

The outbox holds every accepted event; the inbox, buckets and entity events are
derived from it. A rebuild clears the derived rows of the events it replays, in
one transaction, and then replays them in short transactions of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, func, or_, select, text

from services.store import calls
from services.store.db import insert_for
from services.store.outbox import OUTBOX
from services.store.tables import AppliedEvent, CallBucketRow, CallWithinRow, EntityEvent

APPLIED = AppliedEvent.__table__  # type: ignore[attr-defined]
BUCKETS = CallBucketRow.__table__  # type: ignore[attr-defined]
WITHIN = CallWithinRow.__table__  # type: ignore[attr-defined]
ENTITY_EVENTS = EntityEvent.__table__  # type: ignore[attr-defined]
_CHUNK = 500  # ids per IN list: well under SQLite's bound-parameter limit


def replayed(since_ms: int, families: Iterable[str], floor_us: int = 0) -> ColumnElement[bool]:
    """The outbox events of these families with an event time from since_ms on.

    floor_us (partitions.received_floor) is a received time before which there are
    none: it changes no answer, but lets PostgreSQL skip the months before it.
    """
    of_family = or_(*[OUTBOX.c.type.like(f"{f}.%") for f in sorted(families)])
    where = and_(OUTBOX.c.event_time_ms >= since_ms, of_family)
    return and_(where, OUTBOX.c.received_at_us >= floor_us) if floor_us else where


def clear_buckets(conn: Connection, since_hour: int) -> None:
    """Delete the call buckets from since_hour on (and their days' and months' rollups
    and queues' hours, which keep what came before since_hour), first in the clearing
    transaction.

    PostgreSQL: the tables a processor batch writes are locked first (readers
    still read), so a worker's batch commits wholly before the clearing or
    wholly after it, never half of each. SQLite: this delete is the first
    statement, so the transaction holds SQLite's one write lock before it reads.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "LOCK TABLE applied_events, call_buckets, call_buckets_within, call_rollups,"
                " call_rollups_within, call_queue_hours, entity_events IN EXCLUSIVE MODE"
            )
        )
    conn.execute(delete(BUCKETS).where(BUCKETS.c.hour >= since_hour))
    conn.execute(delete(WITHIN).where(WITHIN.c.hour >= since_hour))
    calls.clear_rollups_from(conn, since_hour)


def payloads(conn: Connection, where: ColumnElement[bool], size: int) -> Iterator[list[bytes]]:
    """The payloads of the outbox events that match, in lists of up to `size`."""
    # On the statement, not the connection: the connection's later statements
    # must not become server-side cursors too.
    query = select(OUTBOX.c.payload).where(where).execution_options(yield_per=size)
    result = conn.execute(query)
    for part in result.partitions():
        yield [p.encode() for (p,) in part]


def applied_rows(conn: Connection, ids: Iterable[str]) -> list[dict[str, Any]]:
    ordered = sorted(set(ids))
    rows: list[dict[str, Any]] = []
    for i in range(0, len(ordered), _CHUNK):
        query = select(APPLIED.c.id, APPLIED.c.applied_at_us).where(
            APPLIED.c.id.in_(ordered[i : i + _CHUNK])
        )
        rows += [{"id": r.id, "applied_at_us": r.applied_at_us} for r in conn.execute(query)]
    return rows


def forget(conn: Connection, where: ColumnElement[bool]) -> None:
    """Delete the inbox rows and entity events of the outbox events that match."""
    for table in (APPLIED, ENTITY_EVENTS):
        if conn.dialect.name == "postgresql":
            # DELETE … USING: a join the planner starts from the events that match (a
            # month of a two-year log: one partition), looking each up by primary key.
            # An EXISTS here made it walk the whole inbox (bench/outbox.py).
            stmt = delete(table).where(table.c.id == OUTBOX.c.id, where)
        else:
            # EXISTS, not IN (SELECT …): each table is walked once with a lookup by
            # primary key, instead of collecting every replayed id first (which cost
            # SQLite ~1 s per 100,000 events even with nothing to delete).
            matches = select(OUTBOX.c.id).where(OUTBOX.c.id == table.c.id, where).exists()
            stmt = delete(table).where(matches)
        conn.execute(stmt)


def forget_ids(conn: Connection, ids: list[str]) -> None:
    """Delete the inbox rows and entity events of these events (archived ones: the
    outbox no longer holds them for `forget` to match)."""
    for i in range(0, len(ids), _CHUNK):
        for table in (APPLIED, ENTITY_EVENTS):
            conn.execute(delete(table).where(table.c.id.in_(ids[i : i + _CHUNK])))


def restore(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Put inbox rows back as they were (events the replay must leave applied)."""
    if rows:
        conn.execute(insert_for(conn.dialect.name, APPLIED), rows)


def count(conn: Connection, where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(OUTBOX).where(where)).scalar_one())


def batches(
    engine: Engine, since_ms: int, families: Iterable[str], size: int, floor_us: int = 0
) -> Iterator[list[tuple[str, bytes]]]:
    """(type, payload) of the events `replayed` matches, in event-time order, `size` at a time.

    Each page is a short read of its own (keyset on event time and id), not one
    long cursor: a long read would keep SQLite's write-ahead log from being
    checkpointed while the replay writes. Time order keeps each batch within a
    few hourly buckets, so a batch upserts few bucket rows.
    """
    cols = (OUTBOX.c.event_time_ms, OUTBOX.c.id, OUTBOX.c.type, OUTBOX.c.payload)
    after = (since_ms, "")
    while True:
        # One lower bound on the indexed time, so that each page starts where the
        # last one ended (a row-value comparison made SQLite scan from since_ms).
        t, last = after
        page_where = and_(
            replayed(t, families, floor_us), or_(OUTBOX.c.event_time_ms > t, OUTBOX.c.id > last)
        )
        query = select(*cols).where(page_where)
        query = query.order_by(OUTBOX.c.event_time_ms, OUTBOX.c.id).limit(size)
        with engine.connect() as conn:
            page = conn.execute(query).all()
        if not page:
            return
        after = (page[-1].event_time_ms, page[-1].id)
        yield [(r.type, r.payload.encode()) for r in page]
