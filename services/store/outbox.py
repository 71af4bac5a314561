"""The events outbox: accepted events wait here until the relay has published them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Select, func, select, update

from services.store import partitions
from services.store.db import insert_for, now_us
from services.store.tables import AppliedEvent, OutboxEvent, OutboxId

OUTBOX = OutboxEvent.__table__  # type: ignore[attr-defined]
IDS = OutboxId.__table__  # type: ignore[attr-defined]
APPLIED = AppliedEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Pending:
    id: str
    topic: str
    key: str
    payload: str
    # Where to find it again (mark_published), not what is sent: equal events compare equal.
    received_at_us: int = field(default=0, compare=False)


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
    """Insert the events, skipping ids already stored; returns the ids that were new.

    The id is claimed in outbox_ids first (it refuses ids of any month, archived
    ones too); only the events whose id was claimed go into the outbox, the first
    of the batch for an id repeated within it.
    """
    if not events:
        return set()
    at = now_us()
    if conn.dialect.name == "postgresql":
        partitions.ensure(conn, at)
    claim = (
        insert_for(conn.dialect.name, IDS)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(IDS.c.id)
    )
    # Rows as parameters: compiled once, cached.
    new = set(conn.execute(claim, [{"id": e.id} for e in events]).scalars())
    rows, first = [], set()
    for e in events:
        if e.id in new and e.id not in first:
            first.add(e.id)
            rows.append(
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
            )
    if rows:
        conn.execute(OUTBOX.insert(), rows)
    return new


def payloads(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    """The stored payload of each of these ids that is in the outbox."""
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):  # bounded IN lists
        query = select(OUTBOX.c.id, OUTBOX.c.payload).where(OUTBOX.c.id.in_(ids[i : i + 500]))
        out.update((row.id, row.payload) for row in conn.execute(query))
    return out


# `published = false`, not `IS false`: PostgreSQL matches it to the partial index
# ix_outbox_pending (WHERE NOT published); SQLite's full index serves either.
UNPUBLISHED = OUTBOX.c.published == False  # noqa: E712


def pending(conn: Connection, limit: int) -> list[Pending]:
    """The relay's next batch: the oldest unpublished events, in the order received."""
    cols = (OUTBOX.c.id, OUTBOX.c.topic, OUTBOX.c.key, OUTBOX.c.payload, OUTBOX.c.received_at_us)
    query = select(*cols).where(UNPUBLISHED)
    query = query.order_by(OUTBOX.c.received_at_us, OUTBOX.c.id).limit(limit)
    return [Pending(*row) for row in conn.execute(query)]


def mark_published(
    conn: Connection, ids: Sequence[str], received: tuple[int, int] | None = None
) -> None:
    """Mark these events published; `received` (the least and greatest received_at_us
    of them, when known) lets PostgreSQL look in those months only."""
    if ids:
        where = OUTBOX.c.id.in_(ids)
        if received is not None:
            where = where & OUTBOX.c.received_at_us.between(*received)
        conn.execute(update(OUTBOX).where(where).values(published=True))


def backlog(conn: Connection) -> int:
    query = select(func.count()).select_from(OUTBOX).where(UNPUBLISHED)
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
