"""The events outbox: accepted events wait here until the relay has published them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Select, func, select, update

from services.store.db import insert_for, now_us
from services.store.tables import AppliedEvent, OutboxEvent

OUTBOX = OutboxEvent.__table__  # type: ignore[attr-defined]
APPLIED = AppliedEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Pending:
    id: str
    topic: str
    key: str
    payload: str


@dataclass(frozen=True, slots=True)
class NewEvent:
    id: str
    type: str
    topic: str
    key: str
    event_time_ms: int
    payload: str


def add(conn: Connection, events: Sequence[NewEvent]) -> int:
    """Insert the events, skipping ids already stored; returns how many were new."""
    return len(insert_new(conn, events))


def insert_new(conn: Connection, events: Sequence[NewEvent]) -> set[str]:
    """Insert the events, skipping ids already stored; returns the ids that were new."""
    if not events:
        return set()
    at = now_us()
    rows = [
        {
            "id": e.id,
            "type": e.type,
            "topic": e.topic,
            "key": e.key,
            "event_time_ms": e.event_time_ms,
            "received_at_us": at,
            "published": False,
            "payload": e.payload,
        }
        for e in events
    ]
    stmt = (
        insert_for(conn.dialect.name, OUTBOX)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(OUTBOX.c.id)
    )
    return set(conn.execute(stmt, rows).scalars())  # rows as parameters: compiled once, cached


def payloads(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """The stored payload of each of these ids that is in the outbox."""
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):  # bounded IN lists
        query = select(OUTBOX.c.id, OUTBOX.c.payload).where(OUTBOX.c.id.in_(ids[i : i + 500]))
        out.update((row.id, row.payload) for row in conn.execute(query))
    return out


def pending(conn: Connection, limit: int) -> list[Pending]:
    query = (
        select(OUTBOX.c.id, OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload)
        .where(OUTBOX.c.published.is_(False))
        .order_by(OUTBOX.c.received_at_us, OUTBOX.c.id)
        .limit(limit)
    )
    return [Pending(*row) for row in conn.execute(query)]


def mark_published(conn: Connection, ids: Sequence[str]) -> None:
    if ids:
        conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(published=True))


def backlog(conn: Connection) -> int:
    query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.published.is_(False))
    return int(conn.execute(query).scalar_one())


def requeue_unapplied(conn: Connection) -> int:
    """Mark for publishing again every event that no processor has applied.

    The embedded broker keeps nothing across restarts: what was published but
    not yet applied when it stopped must be sent again. Applied events are
    skipped; any that are resent anyway are ignored by the inbox.
    """
    applied = select(APPLIED.c.id).where(APPLIED.c.id == OUTBOX.c.id).exists()
    stmt = update(OUTBOX).where(OUTBOX.c.published.is_(True), ~applied).values(published=False)
    return int(conn.execute(stmt).rowcount)


def oldest_unapplied(
    conn: Connection, topics: Collection[str], since_us: int = 0
) -> dict[str, int]:
    """Topic -> when the API accepted (received_at_us) its oldest event no processor applied,
    for the topics given (those a processor applies: not the sla notifications).

    Only events accepted from since_us on are looked at: the caller passes a mark below
    which all were applied before, so that a refresh reads the recent events and not
    the whole outbox (events stay applied, so the mark only moves forward).
    """
    oldest: dict[str, int] = {}
    for published in (False, True):
        for topic, at in conn.execute(oldest_unapplied_query(topics, published, since_us)):
            oldest[topic] = min(at, oldest.get(topic, at))
    return oldest


def oldest_unapplied_query(
    topics: Collection[str], published: bool, since_us: int
) -> Select[str, int]:
    """One range scan on ix_outbox_pending, which leads with `published` (hence one query
    per value); each event found is then looked up in the inbox by its primary key."""
    applied = select(APPLIED.c.id).where(APPLIED.c.id == OUTBOX.c.id).exists()
    return (
        select(OUTBOX.c.topic, func.min(OUTBOX.c.received_at_us))
        .where(
            OUTBOX.c.published == published,
            OUTBOX.c.received_at_us >= since_us,
            OUTBOX.c.topic.in_(sorted(topics)),
            ~applied,
        )
        .group_by(OUTBOX.c.topic)
    )
