"""Entity events (tickets, incidents, changes, freezes, indicators) and loading them back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, and_, select, text

from services.store.db import insert_for
from services.store.tables import EntityEvent

EVENTS = EntityEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    family: str
    entity_id: str
    type: str
    time_us: int
    payload: str


def add(conn: Connection, events: Sequence[StoredEvent]) -> None:
    if not events:
        return
    stmt = insert_for(conn.dialect.name, EVENTS).on_conflict_do_nothing(index_elements=["id"])
    conn.execute(stmt, _as_dicts(events))


def _as_dicts(events: Sequence[StoredEvent]) -> list[dict[str, object]]:
    return [
        {
            "id": e.id,
            "family": e.family,
            "entity_id": e.entity_id,
            "type": e.type,
            "time_us": e.time_us,
            "payload": e.payload,
        }
        for e in events
    ]


def payloads_of(
    conn: Connection, entities: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[str]]:
    """All stored payloads of each (family, entity_id), in a few queries."""
    by_family: dict[str, set[str]] = defaultdict(set)
    for family, entity_id in entities:
        by_family[family].add(entity_id)
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for family, ids in by_family.items():
        ordered = sorted(ids)
        # Chunks keep the IN list well under SQLite's bound-parameter limit.
        for i in range(0, len(ordered), 500):
            chunk = ordered[i : i + 500]
            query = select(EVENTS.c.entity_id, EVENTS.c.payload).where(
                and_(EVENTS.c.family == family, EVENTS.c.entity_id.in_(chunk))
            )
            for entity_id, payload in conn.execute(query):
                out[(family, entity_id)].append(payload)
    return dict(out)


def lock(conn: Connection, entities: Iterable[tuple[str, str]]) -> None:
    """Hold each entity until the transaction ends, so that two batches adding
    events of one entity cannot each save a state without the other's event.

    PostgreSQL: transaction-scoped advisory locks, taken in one order so that
    transactions cannot deadlock. SQLite has one writer at a time already.
    """
    if conn.dialect.name != "postgresql":
        return
    for family, entity_id in sorted(set(entities)):
        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"{family}:{entity_id}"},
        )
