"""Bringing a store made by an earlier opstrack up to date, once, when a process starts.

`create_all` makes missing tables but never changes existing ones, so what changed
in an existing table is done here, idempotently: two processes starting together
may both run it (PostgreSQL serialises them with an advisory lock; SQLite with its
write lock), and running it again changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    Table,
    bindparam,
    inspect,
    select,
    text,
    update,
)
from sqlmodel import SQLModel

from services.core.events import parse_stored_event_json
from services.store import calls, partitions
from services.store.db import insert_for, now_us
from services.store.tables import AppliedEvent, EntityEvent, OutboxEvent, StoreMeta

OUTBOX: Table = OutboxEvent.__table__  # type: ignore[attr-defined]
APPLIED: Table = AppliedEvent.__table__  # type: ignore[attr-defined]
ENTITY_EVENTS: Table = EntityEvent.__table__  # type: ignore[attr-defined]
META: Table = StoreMeta.__table__  # type: ignore[attr-defined]

# Event ids were deduplicated across all sources until stores said this; since then
# the key is the event's (source, id), as CloudEvents makes ids unique only per source.
DEDUP_KEY = ("dedup_key", "source+id")
# Stores made before the daily and monthly call rollups have none: summed once
# from the hourly buckets (services/store/calls.py).
ROLLUPS = ("call_rollups", "day+month")
# Stores made before call_queue_hours (issue 13: staffing reads at national size).
QUEUE_HOURS = ("call_queue_hours", "filled")
# Stores made before the outbox_ids table (issue 13) have their ids in the outbox only.
OUTBOX_IDS = ("outbox_ids", "filled")
_LOCK = 72_010_612  # any fixed number: the advisory lock of this migration
_CHUNK = 1000


def init_db(engine: Engine) -> None:
    """Make the tables a store lacks and bring the ones it has up to date: what every
    process does on start, before it reads or writes."""
    SQLModel.metadata.create_all(engine)
    migrate(engine)


def migrate(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        _token_event_sources(conn)
        _added_columns(conn)
        if _meta(conn, DEDUP_KEY[0]) != DEDUP_KEY[1]:
            rekey(conn)
            _set_meta(conn, *DEDUP_KEY)
        if _meta(conn, ROLLUPS[0]) != ROLLUPS[1]:
            calls.rebuild_all_rollups(conn)  # the queues' hours too
            _set_meta(conn, *ROLLUPS)
            _set_meta(conn, *QUEUE_HOURS)
        elif _meta(conn, QUEUE_HOURS[0]) != QUEUE_HOURS[1]:
            calls.rebuild_queue_hours(conn)
            _set_meta(conn, *QUEUE_HOURS)
        if _meta(conn, OUTBOX_IDS[0]) != OUTBOX_IDS[1]:
            # WHERE true: SQLite would read ON CONFLICT as a join's ON without it.
            conn.execute(
                text(
                    "INSERT INTO outbox_ids (id) SELECT id FROM outbox WHERE true"
                    " ON CONFLICT DO NOTHING"
                )
            )
            _set_meta(conn, *OUTBOX_IDS)
        if conn.dialect.name == "postgresql":
            _partitioned_outbox(conn)


def _partitioned_outbox(conn: Connection) -> None:
    """The outbox partitioned by month on PostgreSQL (services/store/partitions.py): a
    plain one (a new store's, or an earlier opstrack's) is converted, keeping every row;
    the months around this one are made ahead of the inserts."""
    if not partitions.is_partitioned(conn):
        partitions.convert(conn)
    for month in partitions.around(partitions.month_of(now_us())):
        partitions.create(conn, *month)


def _token_event_sources(conn: Connection) -> None:
    columns = {c["name"] for c in inspect(conn).get_columns("api_tokens")}
    if "event_sources" not in columns:
        conn.execute(text("ALTER TABLE api_tokens ADD COLUMN event_sources VARCHAR(1000)"))


# Columns added to existing tables after the first stores, with their SQL type.
# Call buckets (issue 16): talk times and abandons within each threshold; older rows
# start at 0, which they are: those stores never counted them (figures from before
# have no talk time). Public notices (issue 15): older events carry none, so NULL.
# The call rollups carry the same columns as the buckets they sum: a store whose
# rollups were made before talk times and abandons within (the l-kafka branch's)
# gets them at 0, which is what its buckets get too, so the sums still agree.
_TALK = (
    ("talked", "INTEGER NOT NULL DEFAULT 0"),
    ("talk_ms", "BIGINT NOT NULL DEFAULT 0"),
)
_ABANDONED_WITHIN = (("abandoned", "INTEGER NOT NULL DEFAULT 0"),)
_ADDED_COLUMNS = {
    "call_buckets": _TALK,
    "call_buckets_within": _ABANDONED_WITHIN,
    "call_rollups": _TALK,
    "call_rollups_within": _ABANDONED_WITHIN,
    "incidents": (("notice", "TEXT"), ("notice_at_us", "BIGINT")),
    "changes": (("notice", "TEXT"), ("notice_at_us", "BIGINT")),
}


def _added_columns(conn: Connection) -> None:
    for table, added in _ADDED_COLUMNS.items():
        columns = {c["name"] for c in inspect(conn).get_columns(table)}
        for name, sql_type in added:
            if name not in columns:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))


def rekey(conn: Connection) -> int:
    """Give every stored event its (source, id) key in the outbox, the inbox and the
    entity events; returns how many outbox rows changed. Rows already keyed stay."""
    old_to_new: dict[str, str] = {}
    changed = 0
    for rows in _pages(conn, select(OUTBOX.c.id, OUTBOX.c.payload)):
        updates = []
        for row in rows:
            event = parse_stored_event_json(row.payload)
            new = event.dedup_key
            if row.id != new:
                updates.append({"old": row.id, "new": new})
            old_to_new[event.id] = new
        _rename(conn, OUTBOX, updates)
        changed += len(updates)
    # The inbox holds bare ids: an old one is the id of the outbox event it applied.
    inbox = [r.id for rows in _pages(conn, select(APPLIED.c.id)) for r in rows]
    _rename(
        conn,
        APPLIED,
        [{"old": i, "new": old_to_new[i]} for i in inbox if old_to_new.get(i, i) != i],
    )
    for rows in _pages(conn, select(ENTITY_EVENTS.c.id, ENTITY_EVENTS.c.payload)):
        updates = []
        for row in rows:
            new = parse_stored_event_json(row.payload).dedup_key
            if row.id != new:
                updates.append({"old": row.id, "new": new})
        _rename(conn, ENTITY_EVENTS, updates)
    return changed


def _pages(conn: Connection, query: Select[Any]) -> list[list[Row[Any]]]:
    # Read whole before renaming: an update under a running cursor would be read again.
    rows = list(conn.execute(query))
    return [rows[i : i + _CHUNK] for i in range(0, len(rows), _CHUNK)]


def _rename(conn: Connection, table: Table, updates: list[dict[str, str]]) -> None:
    if updates:
        stmt = update(table).where(table.c.id == bindparam("old")).values(id=bindparam("new"))
        conn.execute(stmt, updates)


def _meta(conn: Connection, key: str) -> str | None:
    value = conn.execute(select(META.c.value).where(META.c.key == key)).scalar_one_or_none()
    return None if value is None else str(value)


def _set_meta(conn: Connection, key: str, value: str) -> None:
    ins = insert_for(conn.dialect.name, META)
    conn.execute(
        ins.values(key=key, value=value).on_conflict_do_update(
            index_elements=["key"], set_={"value": value}
        )
    )
