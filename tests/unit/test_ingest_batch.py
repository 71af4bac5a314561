"""Tests for services.ingest.batch: request body -> events, or the reasons why not."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.core.events import parse_event, parse_event_json
from services.ingest.batch import BodyError, Problem, decode, invalid_body, to_outbox, validate
from tests.builders import call_data, envelope

SINGLE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


def answered(n: int, wait: Any = 12.5, **extra: Any) -> dict[str, Any]:
    return (
        envelope(
            "call.answered",
            call_data(f"askersund-{n}", wait=wait),
            id=f"evt-{n}",
            source="/telefoni/servicedesk",
            time="2022-09-13T08:00:30.250Z",
        )
        | extra
    )


def body(value: object) -> bytes:
    return json.dumps(value).encode()


# --- decode ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "says"),
    [
        (body(answered(1)), "text/plain", 415, "unsupported content type 'text/plain'"),
        (body(answered(1)), "", 415, "(none)"),
        (b'{"specversion": "1.0",', SINGLE, 400, "malformed JSON"),
        (b"", "application/json", 400, "malformed JSON"),
        (body([answered(1)]), SINGLE, 400, "cloudevents-batch+json"),  # an array is a batch
        (body(answered(1)), BATCH, 400, "JSON array"),  # a batch is an array
        (b"[]", BATCH, 400, "empty batch"),
        (b"[]", "application/json", 400, "empty batch"),
        (body([answered(i) for i in range(3)]), BATCH, 413, "3 events is over the limit of 2"),
    ],
    ids=[
        "unknown-type",
        "no-type",
        "malformed",
        "empty-body",
        "array-as-single",
        "object-as-batch",
        "empty-batch",
        "empty-json-array",
        "too-many",
    ],
)
def test_decode_refuses_with_status(raw: bytes, content_type: str, status: int, says: str) -> None:
    with pytest.raises(BodyError) as info:
        decode(raw, content_type, max_events=2)
    assert info.value.status == status
    assert says in str(info.value)


@pytest.mark.parametrize(
    ("value", "content_type", "items"),
    [
        (answered(1), SINGLE, [answered(1)]),
        (answered(1), "Application/CloudEvents+JSON; charset=utf-8", [answered(1)]),
        (answered(1), "application/json", [answered(1)]),
        ([answered(1), answered(2)], BATCH, [answered(1), answered(2)]),  # exactly the limit
        ([answered(1)], "application/json", [answered(1)]),
    ],
)
def test_decode_accepts(value: object, content_type: str, items: list[object]) -> None:
    assert decode(body(value), content_type, max_events=2) == items


# --- validate ----------------------------------------------------------------------------


def test_validate_lists_every_bad_index_and_field() -> None:
    naive_with_caller = answered(3, time="2022-09-13T08:00:30")  # two faults in one event
    naive_with_caller["data"]["caller"] = "0701234567"
    items: list[object] = [
        answered(0),
        answered(1, wait=-3),
        answered(2),
        naive_with_caller,
        answered(4, type="call.transferred"),
        42,  # not an object at all
    ]
    events, problems = validate(items)
    assert [e.id for e in events] == ["evt-0", "evt-2"]
    assert sorted((p.index, p.field) for p in problems) == [
        (1, "data.wait_seconds"),
        (3, "data.caller"),
        (3, "time"),
        (4, "type"),
        (5, "(event)"),
    ]
    assert all(isinstance(p, Problem) and p.message for p in problems)


def test_validate_all_good_has_no_problems() -> None:
    events, problems = validate([answered(1), answered(2)])
    assert ([e.id for e in events], problems) == (["evt-1", "evt-2"], [])


def test_validate_reports_an_unhashable_type() -> None:
    _, problems = validate([answered(1, type={"name": "call.answered"})])
    assert [(p.index, p.field) for p in problems] == [(0, "type")]


# --- the 422 body ------------------------------------------------------------------------


def test_invalid_body_lists_the_first_hundred_and_counts_all() -> None:
    errors = [{"index": i, "field": "time", "message": "no offset"} for i in range(250)]
    out = invalid_body("250 of 250 events are invalid", errors)
    assert out["error_count"] == 250
    assert out["errors"] == errors[:100]
    assert out["detail"] == (
        "250 of 250 events are invalid; the first 100 of 250 errors are listed"
    )


@pytest.mark.parametrize("count", [0, 1, 100])
def test_invalid_body_up_to_a_hundred_lists_them_all(count: int) -> None:
    errors = [{"field": "id", "message": "missing"}] * count
    assert invalid_body("bad", errors) == {"detail": "bad", "error_count": count, "errors": errors}


# --- to_outbox ---------------------------------------------------------------------------


def test_to_outbox_dedups_ids_and_keys_by_subject() -> None:
    first, other, again = answered(1, wait=10), answered(2), answered(1, wait=99)
    events = [parse_event(e) for e in (first, other, again)]
    rows = to_outbox(events, lambda t: f"opstrack.{t}")
    # A repeat within a batch is a duplicate; each row is keyed by its (source, id).
    assert [parse_event_json(r.payload).id for r in rows] == ["evt-1", "evt-2"]
    assert [r.id for r in rows] == [events[0].dedup_key, events[1].dedup_key]
    row = rows[0]
    assert (row.type, row.topic, row.key) == ("call.answered", "opstrack.calls", "askersund-1")
    # 2022-09-13T08:00:30.250Z in epoch milliseconds, by datetime arithmetic.
    at = datetime(2022, 9, 13, 8, 0, 30, 250_000, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    assert row.event_time_ms == at // timedelta(milliseconds=1)
    # The first of the repeated events is stored, and the payload reads back as it.
    assert parse_event_json(row.payload) == parse_event(first)
    assert json.loads(row.payload)["subject"] == "askersund-1"


def test_to_outbox_keeps_one_id_of_two_sources_apart() -> None:
    # CloudEvents: an id is unique within its source only, so these are two events.
    ours, theirs = answered(1), answered(1, source="pbx/hallsberg")
    rows = to_outbox([parse_event(ours), parse_event(theirs)], lambda t: t)
    assert [json.loads(r.payload)["source"] for r in rows] == [ours["source"], "pbx/hallsberg"]
    assert len({r.id for r in rows}) == 2


def test_to_outbox_keys_by_explicit_subject() -> None:
    event = parse_event(answered(7, subject="askersund-7"))
    [row] = to_outbox([event], lambda t: t)
    assert (row.topic, row.key) == ("calls", "askersund-7")
