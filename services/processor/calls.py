"""Applying a batch of call messages to the store, idempotently, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from services.core.calls import BucketKey, CallBucket, CallRules, fold_calls
from services.core.events import (
    CallAbandoned,
    CallAnswered,
    CallCompleted,
    CallEvent,
    CallExited,
    CallQueued,
)
from services.processor.parsing import parse_batch
from services.store import calls, inbox


@dataclass(slots=True)
class BatchResult:
    applied: list[CallEvent] = field(default_factory=list)
    deltas: dict[BucketKey, CallBucket] = field(default_factory=dict)  # what was added
    duplicates: int = 0
    invalid: list[tuple[bytes, str]] = field(default_factory=list)  # (message, reason)


def apply_batch(engine: Engine, rules: CallRules, values: list[bytes]) -> BatchResult:
    """Apply the events not applied before; a redelivered batch changes nothing."""
    parsed, invalid = parse_batch(values, frozenset({"call"}))
    events = [
        e
        for e in parsed
        if isinstance(e, CallQueued | CallAnswered | CallAbandoned | CallExited | CallCompleted)
    ]
    with engine.begin() as conn:
        fresh = inbox.claim(conn, [e.dedup_key for e in events])
        applied = [e for e in events if e.dedup_key in fresh]
        deltas = fold_calls(applied, rules)
        calls.add_buckets(conn, deltas)
    duplicates = len(values) - len(invalid) - len(applied)
    return BatchResult(applied=applied, deltas=deltas, duplicates=duplicates, invalid=invalid)
