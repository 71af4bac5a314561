"""Prometheus metrics from each applied batch (counted once: duplicates are not applied)."""

from __future__ import annotations

from collections import Counter

from services.core.calls import CallBucket
from services.core.events import CallAbandoned, CallAnswered, CallExited
from services.core.labels import LabelCatalog
from services.observability import processor_metrics as m
from services.processor.calls import BatchResult
from services.processor.entities import EntityBatchResult


def batch(topic: str, applied: int, duplicates: int, invalid: int) -> None:
    m.PROCESSED.labels(topic, "applied").inc(applied)
    m.PROCESSED.labels(topic, "duplicate").inc(duplicates)
    m.PROCESSED.labels(topic, "invalid").inc(invalid)


def entities(result: EntityBatchResult, topic: str, known: LabelCatalog) -> None:
    batch(topic, len(result.applied), result.duplicates, len(result.invalid))
    for event_type, n in Counter(e.type for e in result.applied).items():
        m.ENTITY_EVENTS.labels(event_type).inc(n)
    for t in result.first_resolved:
        if t.handling_hours is not None:  # None: resolved without a known creation
            category = known.category(t.category)
            m.TICKET_HANDLING_HOURS.labels(category, str(t.priority)).observe(t.handling_hours)


def calls(result: BatchResult, topic: str, known: LabelCatalog) -> None:
    batch(topic, len(result.applied), result.duplicates, len(result.invalid))
    # Counters from the batch's bucket deltas: they count exactly what the
    # buckets count, with one label lookup per queue rather than per event.
    per_queue: dict[tuple[str, str], CallBucket] = {}
    for key, delta in result.deltas.items():
        series = (known.queue(key.queue), known.municipality(key.municipality))
        per_queue.setdefault(series, CallBucket()).add(delta)
    for (q, muni), d in per_queue.items():
        m.CALLS_OFFERED.labels(q, muni).inc(d.offered)
        m.CALLS_ANSWERED.labels(q, muni).inc(d.answered)
        m.CALLS_ABANDONED.labels(q, muni).inc(d.abandoned)
        m.CALLS_SHORT_ABANDONED.labels(q, muni).inc(d.short_abandoned)
        for threshold, n in d.answered_within.items():
            m.CALLS_ANSWERED_WITHIN.labels(q, muni, str(threshold)).inc(n)
        if d.talked:
            m.CALLS_TALKED.labels(q, muni).inc(d.talked)
            m.CALLS_TALK_SECONDS.labels(q, muni).inc(d.talk_ms / 1000)
    # The wait histogram needs each call's wait, but a label lookup (a lock and
    # a dict) per series is enough: the calls are grouped by series first.
    waits: dict[tuple[str, str, str], list[float]] = {}
    exits: Counter[tuple[str, str, str]] = Counter()
    for e in result.applied:
        if isinstance(e, CallAnswered | CallAbandoned | CallExited):
            q, muni = known.queue(e.data.queue), known.municipality(e.data.municipality)
            waits.setdefault((q, muni, _OUTCOME[e.type]), []).append(e.data.wait_seconds)
            if isinstance(e, CallExited):
                exits[q, muni, e.data.reason] += 1
    for labels, seconds in waits.items():
        observe = m.CALL_WAIT.labels(*labels).observe
        for s in seconds:
            observe(s)
    for labels, n in exits.items():
        m.CALLS_EXITED.labels(*labels).inc(n)
    # The newest event time per queue, for "a source went quiet": only ever forward,
    # so a late event from an earlier hour does not make the source look older.
    newest: dict[tuple[str, str], float] = {}
    for e in result.applied:
        stay = (known.queue(e.data.queue), known.municipality(e.data.municipality))
        newest[stay] = max(newest.get(stay, 0.0), e.time.timestamp())
    for stay, t in newest.items():
        if t > _last_event.get(stay, 0.0):
            _last_event[stay] = t
            m.CALLS_LAST_EVENT.labels(*stay).set(t)


# What CALLS_LAST_EVENT holds, per (queue, municipality): prometheus_client has no
# public read of a gauge.
_last_event: dict[tuple[str, str], float] = {}
_OUTCOME = {"call.answered": "answered", "call.abandoned": "abandoned", "call.exited": "exited"}
