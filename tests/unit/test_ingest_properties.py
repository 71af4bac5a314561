"""Properties of the ingest body decoder and validator (services.ingest.batch).

Any body with any content type is a list of items or a BodyError with an HTTP status
of 400, 413 or 415 and a message; validating any items gives events or problems that
name the item's index and field. A batch is accepted whole or not at all.
"""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ingest.batch import BodyError, decode, validate
from tests.strategies import json_values
from tests.unit.test_events_properties import events

FAST = settings(max_examples=150, deadline=None)
MEDIA = [
    "application/cloudevents+json",
    "application/cloudevents-batch+json; charset=utf-8",
    "application/json",
    "APPLICATION/JSON",
    "text/plain",
    "",
]


@FAST
@given(
    st.binary(max_size=300) | json_values.map(orjson.dumps),
    st.sampled_from(MEDIA) | st.text(max_size=20),
    st.integers(1, 5),
)
def test_any_body_is_items_or_a_body_error(body: bytes, media: str, limit: int) -> None:
    try:
        items = decode(body, media, limit)
    except BodyError as exc:
        assert exc.status in (400, 413, 415)
        assert str(exc)
        return
    assert 1 <= len(items) <= limit


@FAST
@given(st.lists(events() | json_values, min_size=1, max_size=5))
def test_any_items_are_all_events_or_problems_naming_index_and_field(items: list[Any]) -> None:
    parsed, problems = validate(items)
    for p in problems:
        assert 0 <= p.index < len(items)
        assert p.field and p.message
    bad = {p.index for p in problems}
    assert len(parsed) == len(items) - len(bad)  # each item is one event or has problems


@FAST
@given(st.lists(events(), min_size=1, max_size=5))
def test_a_batch_of_valid_events_decodes_and_validates_whole(batch: list[dict[str, Any]]) -> None:
    items = decode(orjson.dumps(batch), "application/cloudevents-batch+json", 10)
    parsed, problems = validate(items)
    assert problems == []
    assert [e.id for e in parsed] == [e["id"] for e in batch]
