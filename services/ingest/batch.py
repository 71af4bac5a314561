"""Turning a request body into validated events: all of them, or a list of what is wrong."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import orjson
from pydantic import TypeAdapter, ValidationError

from services.core.events import Event, EventError, parse_event, topic_for
from services.store.outbox import NewEvent

SINGLE = ("application/cloudevents+json",)
BATCH = ("application/cloudevents-batch+json",)
EITHER = ("application/json",)


class BodyError(ValueError):
    """The body is not usable at all; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Problem:
    index: int
    field: str
    message: str


def decode(body: bytes, content_type: str, max_events: int) -> list[object]:
    """The items of a single event or a batch, as decoded JSON."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in SINGLE + BATCH + EITHER:
        raise BodyError(
            415,
            f"unsupported content type {media or '(none)'!r}: use application/cloudevents+json, "
            "application/cloudevents-batch+json or application/json",
        )
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(400, f"malformed JSON: {exc}") from None
    if isinstance(value, list):
        if media in SINGLE:
            raise BodyError(
                400, "a JSON array is a batch: send it as application/cloudevents-batch+json"
            )
        if len(value) > max_events:
            raise BodyError(413, f"batch of {len(value)} events is over the limit of {max_events}")
        if not value:
            raise BodyError(400, "empty batch: send at least one event")
        return value
    if media in BATCH:
        raise BodyError(400, "a batch must be a JSON array of events")
    return [value]


# A 422 lists this many errors and counts the rest: a batch of 10,000 bad items would
# otherwise answer with megabytes nobody reads.
MAX_ERRORS_LISTED = 100


def invalid_body(detail: str, errors: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """The body of a 422: what is wrong, how many errors, the first MAX_ERRORS_LISTED."""
    if len(errors) > MAX_ERRORS_LISTED:
        detail += f"; the first {MAX_ERRORS_LISTED} of {len(errors)} errors are listed"
    listed = list(errors[:MAX_ERRORS_LISTED])
    return {"detail": detail, "error_count": len(errors), "errors": listed}


def problem_json(p: Problem) -> dict[str, object]:
    return {"index": p.index, "field": p.field, "message": p.message}


# A whole batch in one call: a third less time than item by item (bench/ingest.py).
_BATCH = TypeAdapter(list[Event])


def validate(items: list[object]) -> tuple[list[Event], list[Problem]]:
    try:
        return _BATCH.validate_python(items), []
    except ValidationError:
        pass  # go item by item, to name each bad index and field in the words of parse_event
    events: list[Event] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        try:
            events.append(parse_event(item))
        except EventError as exc:
            problems.extend(Problem(index, f, m) for f, m in exc.problems)
    return events, problems


def to_outbox(events: list[Event], topic_name: Callable[[str], str]) -> list[NewEvent]:
    """One outbox row per distinct (source, id) (a repeat within a batch is a duplicate);
    the row's id is the event's dedup key."""
    rows: dict[str, NewEvent] = {}
    for e in events:
        if e.dedup_key in rows:
            continue
        rows[e.dedup_key] = NewEvent(
            id=e.dedup_key,
            type=e.type,
            topic=topic_name(topic_for(e.type)),
            key=e.subject or e.id,
            event_time_ms=int(e.time.timestamp() * 1000),
            payload=e.model_dump_json(),
        )
    return list(rows.values())
