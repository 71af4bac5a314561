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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Engine

from services.core.calendar import BusinessCalendar
from services.core.calls import HOUR, CallRules, fold_call
from services.core.events import CallEvent
from services.processor.calls import apply_batch
from services.processor.entities import apply_entity_batch
from services.processor.parsing import family, parse_batch
from services.processor.reducers import TOPIC_FAMILIES, reducers
from services.settings import Settings
from services.store import rebuild

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


def clear(engine: Engine, since_hour: int) -> int:
    """Delete what the replay will recreate; returns how many events it will replay."""
    where = rebuild.replayed(since_hour * 1000, REPLAYED)
    with engine.begin() as conn:
        rebuild.clear_buckets(conn, since_hour)
        kept = rebuild.applied_rows(conn, _in_earlier_hours(conn, since_hour)) if since_hour else []
        rebuild.forget(conn, where)
        rebuild.restore(conn, kept)
        return rebuild.count(conn, where)


def _in_earlier_hours(conn: Connection, since_hour: int, size: int = 5000) -> set[str]:
    """Call events from since_hour on whose call entered its queue before: their
    bucket is an earlier hour, which the rebuild leaves alone, so they stay applied."""
    where = rebuild.replayed(since_hour * 1000, {"call"})
    rules = CallRules()  # the hour of a call's bucket does not depend on the rules
    out: set[str] = set()
    for values in rebuild.payloads(conn, where, size):
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
) -> Replayed:
    """Apply the outbox events from since_hour on with the current settings."""
    rules = settings.call_rules
    family_reducers = reducers(BusinessCalendar() if settings.business_calendar else None)
    done = Replayed()
    for page in rebuild.batches(engine, since_hour * 1000, REPLAYED, batch_size):
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
