"""Rebuilding derived state: replay the outbox through the processors' own apply functions.

`clear` deletes, in one transaction, exactly the rows the replay recreates: the
call buckets from the start hour on, and the inbox rows and entity events of
the replayed events. `replay` then feeds the events, in event-time batches, to
apply_batch and apply_entity_batch with the current settings, as a worker would.

A worker running meanwhile stays exact: its batches commit wholly before or
after the clearing (store/rebuild.py locks for that), and afterwards each
replayed event is applied once, by whichever of the two claims it in the inbox
first. Readers in the meantime see partial figures.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine

from services.core.calendar import BusinessCalendar
from services.core.calls import HOUR, CallRules, fold_call
from services.core.events import CallEvent
from services.processor.calls import apply_batch
from services.processor.entities import apply_entity_batch
from services.processor.parsing import family, parse_batch
from services.processor.reducers import TOPIC_FAMILIES, reducers
from services.settings import Settings
from services.store import archive, partitions, rebuild

# The families a processor applies to the store. sla.* events are not among
# them: the clock raises them for the outside world and nothing here reads them.
REPLAYED = frozenset({"call"}).union(*TOPIC_FAMILIES.values())


@dataclass(slots=True)
class Replayed:
    events: int = 0  # read from the outbox
    applied: int = 0
    skipped: int = 0  # already applied: by a running worker, or counted in an earlier hour
    invalid: list[tuple[bytes, str]] = field(default_factory=list)


def start_hour(since: datetime | None) -> int:
    """The first hour (UTC epoch seconds) a rebuild recomputes; 0 means everything."""
    return 0 if since is None else int(since.timestamp() // HOUR) * HOUR


def clear(engine: Engine, since_hour: int, archive_dir: Path | None = None) -> int:
    """Delete what the replay will recreate; returns how many events it will replay.

    Events from since_hour on that were archived are replayed from their files in
    archive_dir; without it, a rebuild that needs them is refused (ArchiveError).
    """
    since_ms = since_hour * 1000
    with engine.begin() as conn:
        rebuild.clear_buckets(conn, since_hour)  # first: see its docstring
        floor = partitions.received_floor(conn, since_ms)
        months = _archived_months(conn, since_ms, archive_dir)
        where = rebuild.replayed(since_ms, REPLAYED, floor)
        kept = []
        if since_hour:
            of_calls = rebuild.replayed(since_ms, {"call"}, floor)
            earlier = _in_earlier_hours(rebuild.payloads(conn, of_calls, 5000), since_hour)
            kept = rebuild.applied_rows(conn, earlier)
        rebuild.forget(conn, where)
        archived = 0
        for rows in _archived(archive_dir, months, since_ms):
            if since_hour:
                earlier = _in_earlier_hours([[r["payload"].encode() for r in rows]], since_hour)
                kept += rebuild.applied_rows(conn, earlier)
            rebuild.forget_ids(conn, [r["id"] for r in rows])
            archived += len(rows)
        rebuild.restore(conn, kept)
        return archived + rebuild.count(conn, where)


def _archived_months(
    conn: Connection, since_ms: int, archive_dir: Path | None
) -> list[archive.Archived]:
    months = archive.needed(conn, since_ms)
    if months and archive_dir is None:
        names = ", ".join(m.month for m in months)
        raise archive.ArchiveError(
            f"the events of {names} are archived: pass --archive DIR, the directory of"
            f" {months[0].file}{' …' if len(months) > 1 else ''}, to replay them"
        )
    return months


def _archived(
    archive_dir: Path | None, months: list[archive.Archived], since_ms: int
) -> Iterator[list[dict[str, Any]]]:
    """The archived rows a rebuild from since_ms replays (as rebuild.replayed picks the
    outbox's), in the order they were received: as the workers first applied them."""
    if archive_dir is None:
        return
    for month in months:
        for rows in archive.read(archive_dir, month):
            page = [
                r for r in rows if r["event_time_ms"] >= since_ms and family(r["type"]) in REPLAYED
            ]
            if page:
                yield page


def _in_earlier_hours(pages: Iterable[list[bytes]], since_hour: int) -> set[str]:
    """Call events from since_hour on whose call entered its queue before: their
    bucket is an earlier hour, which the rebuild leaves alone, so they stay applied."""
    rules = CallRules()  # the hour of a call's bucket does not depend on the rules
    out: set[str] = set()
    for values in pages:
        events, _ = parse_batch(values, frozenset({"call"}))
        for event in events:
            folded = fold_call(cast(CallEvent, event), rules)  # parse_batch kept calls only
            if folded is not None and folded[0].hour < since_hour:
                out.add(event.dedup_key)
    return out


def replay(
    engine: Engine,
    settings: Settings,
    since_hour: int,
    batch_size: int,
    progress: Callable[[int], None] = lambda n: None,
    archive_dir: Path | None = None,
) -> Replayed:
    """Apply the events from since_hour on with the current settings: the archived
    ones first (archive_dir), then the outbox's."""
    rules = settings.call_rules
    family_reducers = reducers(BusinessCalendar() if settings.business_calendar else None)
    since_ms = since_hour * 1000
    with engine.connect() as conn:
        floor = partitions.received_floor(conn, since_ms)
        months = _archived_months(conn, since_ms, archive_dir)
    done = Replayed()
    archived = (
        [(r["type"], r["payload"].encode()) for r in rows[i : i + batch_size]]
        for rows in _archived(archive_dir, months, since_ms)
        for i in range(0, len(rows), batch_size)
    )
    stored = rebuild.batches(engine, since_ms, REPLAYED, batch_size, floor)
    for page in itertools.chain(archived, stored):
        calls = [p for t, p in page if family(t) == "call"]
        others = [p for t, p in page if family(t) != "call"]
        if calls:
            c = apply_batch(engine, rules, calls)
            done.applied += len(c.applied)
            done.skipped += c.duplicates
            done.invalid += c.invalid
        if others:
            e = apply_entity_batch(engine, family_reducers, others)
            done.applied += len(e.applied)
            done.skipped += e.duplicates
            done.invalid += e.invalid
        done.events += len(page)
        progress(len(page))
    return done
