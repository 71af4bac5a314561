"""Applying a batch of call messages to the store, idempotently, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from services.core.calls import BucketKey, CallBucket, CallRules, fold_calls
from services.core.events import CallEvent, EventError, parse_event_json
from services.store import calls, inbox


@dataclass(slots=True)
class BatchResult:
    applied: list[CallEvent] = field(default_factory=list)
    deltas: dict[BucketKey, CallBucket] = field(default_factory=dict)  # what was added
    duplicates: int = 0
    invalid: list[tuple[bytes, str]] = field(default_factory=list)  # (message, reason)


def parse_batch(values: list[bytes]) -> tuple[list[CallEvent], list[tuple[bytes, str]]]:
    """Parse messages; the first of several with one id is kept (they are one event)."""
    events: dict[str, CallEvent] = {}
    invalid: list[tuple[bytes, str]] = []
    for value in values:
        try:
            event = parse_event_json(value)
        except EventError as exc:
            invalid.append((value, str(exc)))
            continue
        events.setdefault(event.id, event)
    return list(events.values()), invalid


def apply_batch(engine: Engine, rules: CallRules, values: list[bytes]) -> BatchResult:
    """Apply the events not applied before; a redelivered batch changes nothing."""
    events, invalid = parse_batch(values)
    with engine.begin() as conn:
        fresh = inbox.claim(conn, [e.id for e in events])
        applied = [e for e in events if e.id in fresh]
        deltas = fold_calls(applied, rules)
        calls.add_buckets(conn, deltas)
    duplicates = len(values) - len(invalid) - len(applied)
    return BatchResult(applied=applied, deltas=deltas, duplicates=duplicates, invalid=invalid)
