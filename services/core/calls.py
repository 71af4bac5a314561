"""Phone-queue calls: the additive hourly bucket and how one event folds into it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.core.events import CallAbandoned, CallAnswered, CallCompleted, CallEvent, CallExited

HOUR = 3600


@dataclass(frozen=True, slots=True)
class CallRules:
    """What counts as a short abandon and which answer-time thresholds are kept."""

    short_abandon_seconds: float = 5.0  # 0 disables short abandons
    thresholds: tuple[int, ...] = (20, 60)


@dataclass(frozen=True, slots=True, order=True)
class BucketKey:
    hour: int  # UTC epoch seconds of the hour in which the call entered the queue
    queue: str
    municipality: str


@dataclass(slots=True)
class CallBucket:
    """Counts and sums for one queue and one hour; buckets add up to any period.

    Wait sums are kept in whole milliseconds so that adding buckets is exact
    (float sums would depend on the order of addition); thresholds are judged
    on the exact wait, as docs/definitions.md#offered-and-answered defines them.

    talked/talk_ms: answered calls whose talk time is known (call.completed) and
    the sum of those talk times; average handle time = talk_ms / talked.
    abandoned_within: abandoned calls (short ones included, as Asterisk counts
    them for SL2) that hung up within each threshold.
    """

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    exited: int = 0
    answered_within: dict[int, int] = field(default_factory=dict)
    wait_answered_ms: int = 0
    wait_offered_ms: int = 0
    talked: int = 0
    talk_ms: int = 0
    abandoned_within: dict[int, int] = field(default_factory=dict)

    def add(self, other: CallBucket) -> None:
        self.offered += other.offered
        self.answered += other.answered
        self.abandoned += other.abandoned
        self.short_abandoned += other.short_abandoned
        self.exited += other.exited
        for t, n in other.answered_within.items():
            self.answered_within[t] = self.answered_within.get(t, 0) + n
        self.wait_answered_ms += other.wait_answered_ms
        self.wait_offered_ms += other.wait_offered_ms
        self.talked += other.talked
        self.talk_ms += other.talk_ms
        for t, n in other.abandoned_within.items():
            self.abandoned_within[t] = self.abandoned_within.get(t, 0) + n

    def merge(self, other: CallBucket) -> CallBucket:
        out = CallBucket()
        out.add(self)
        out.add(other)
        return out


def total(buckets: Iterable[CallBucket]) -> CallBucket:
    out = CallBucket()
    for b in buckets:
        out.add(b)
    return out


def fold_call(event: CallEvent, rules: CallRules) -> tuple[BucketKey, CallBucket] | None:
    """The bucket delta of one call event; None for events that change no bucket.

    The bucket is the hour the call entered the queue: `entered_at` where the
    source logged it (Asterisk's ENTERQUEUE), else the event's time minus the wait
    (and, for call.completed, minus the talk time).
    """
    if not isinstance(event, CallAnswered | CallAbandoned | CallExited | CallCompleted):
        return None
    wait = event.data.wait_seconds
    wait_ms = round(wait * 1000)
    talk_ms = round(event.data.talk_seconds * 1000) if isinstance(event, CallCompleted) else 0
    if event.data.entered_at is not None:
        entered = event.data.entered_at.timestamp()
    else:
        entered = event.time.timestamp() - (wait_ms + talk_ms) / 1000
    key = BucketKey(
        hour=int(entered // HOUR) * HOUR,
        queue=event.data.queue,
        municipality=event.data.municipality,
    )
    if isinstance(event, CallCompleted):
        return key, CallBucket(talked=1, talk_ms=talk_ms)
    delta = CallBucket(offered=1, wait_offered_ms=wait_ms)
    if isinstance(event, CallAnswered):
        delta.answered = 1
        delta.wait_answered_ms = wait_ms
        for t in rules.thresholds:
            delta.answered_within[t] = int(wait <= t)
    elif isinstance(event, CallAbandoned):
        delta.abandoned = 1
        delta.short_abandoned = int(wait < rules.short_abandon_seconds)
        for t in rules.thresholds:
            delta.abandoned_within[t] = int(wait <= t)
    else:
        delta.exited = 1
    return key, delta


def fold_calls(events: Iterable[CallEvent], rules: CallRules) -> dict[BucketKey, CallBucket]:
    """Sum the deltas of many events per bucket (one store write per bucket, not per event)."""
    out: dict[BucketKey, CallBucket] = {}
    for event in events:
        folded = fold_call(event, rules)
        if folded is None:
            continue
        key, delta = folded
        if key in out:
            out[key].add(delta)
        else:
            out[key] = delta
    return out
