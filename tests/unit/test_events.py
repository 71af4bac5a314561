"""Tests for services.core.events: the event contract, its schemas and its examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest

from services.core.events import EVENT_MODELS, EventError, json_schema, parse_event, topic_for
from tests.builders import call_data, envelope

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
EXAMPLES = sorted((SCHEMAS / "examples").glob("*.json"))
# The call types of docs/events.md; written out so a type dropped from
# the models fails the drift test instead of silently shrinking it.
ALL_TYPES = tuple(sorted(EVENT_MODELS))


def example_type(path: Path) -> str:
    # call.exited.timeout.json -> call.exited
    return ".".join(path.name.split(".")[:2])


def answered(**data: Any) -> dict[str, Any]:
    return envelope(
        "call.answered",
        call_data("askersund-1", wait=45.0, **data),
        id="evt-1",
        source="/telefoni/servicedesk",
        time="2022-09-13T08:00:30Z",
    )


def problems(raw: object) -> list[tuple[str, str]]:
    with pytest.raises(EventError) as info:
        parse_event(raw)
    return info.value.problems


# --- examples and schemas ------------------------------------------------------------


def test_every_type_has_an_example() -> None:
    assert {example_type(p) for p in EXAMPLES} == set(ALL_TYPES)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_round_trips(path: Path) -> None:
    event = parse_event(json.loads(path.read_text()))
    assert event.type == example_type(path)
    again = parse_event(event.model_dump(mode="json"))
    assert again == event


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_schema_file_matches_model(event_type: str) -> None:
    on_disk = json.loads((SCHEMAS / f"{event_type}.json").read_text())
    assert on_disk == json_schema(event_type), (
        f"schemas/{event_type}.json is out of date with services/core/events.py: run `make schemas`"
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates_against_its_schema_file(path: Path) -> None:
    schema = json.loads((SCHEMAS / f"{example_type(path)}.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(path.read_text()))


def test_schema_file_rejects_an_extra_data_field() -> None:
    # The schema must say what the model says: no room for a caller number.
    schema = json.loads((SCHEMAS / "call.answered.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(answered(caller="0701234567"), schema)


# --- subject ---------------------------------------------------------------------------


def test_subject_defaults_to_call_id() -> None:
    assert parse_event(answered()).subject == "askersund-1"


def test_matching_subject_is_kept() -> None:
    assert parse_event(answered() | {"subject": "askersund-1"}).subject == "askersund-1"


def test_mismatching_subject_is_rejected() -> None:
    [(field, message)] = problems(answered() | {"subject": "askersund-2"})
    assert field == "subject"
    assert "askersund-1" in message


# --- errors name their fields -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (answered(wait_seconds=-1), "data.wait_seconds"),
        (answered(wait_seconds=86_401), "data.wait_seconds"),  # longer than a day
        (answered(wait_seconds="soon"), "data.wait_seconds"),
        (answered() | {"time": "2022-09-13T08:00:30"}, "time"),  # naive: which zone?
        (answered(caller="0701234567"), "data.caller"),  # personal data stays out
        (answered() | {"type": "call.transferred"}, "type"),
        ({k: v for k, v in answered().items() if k != "type"}, "type"),
    ],
    ids=[
        "negative-wait",
        "wait-over-a-day",
        "wait-not-a-number",
        "naive-time",
        "extra",
        "unknown-type",
        "no-type",
    ],
)
def test_error_names_the_field(raw: dict[str, Any], field: str) -> None:
    assert [f for f, _ in problems(raw)] == [field]


def test_missing_wait_is_named() -> None:
    raw = answered()
    del raw["data"]["wait_seconds"]
    assert [f for f, _ in problems(raw)] == ["data.wait_seconds"]


def test_every_bad_field_is_listed() -> None:
    raw = answered(wait_seconds=-1)
    raw["time"] = "2022-09-13T08:00:30"
    assert {f for f, _ in problems(raw)} == {"time", "data.wait_seconds"}


def test_unknown_type_message_names_it() -> None:
    [(_, message)] = problems(answered() | {"type": "call.transferred"})
    assert "call.transferred" in message


def test_exit_reason_must_be_known() -> None:
    raw = answered(reason="lunch") | {"type": "call.exited"}
    assert [f for f, _ in problems(raw)] == ["data.reason"]


def test_queued_has_no_wait() -> None:
    raw = answered() | {"type": "call.queued"}
    assert [f for f, _ in problems(raw)] == ["data.wait_seconds"]


def test_unhashable_type_is_an_event_error() -> None:
    assert [f for f, _ in problems(answered() | {"type": ["call.answered"]})] == ["type"]


def test_topic_of_call_events() -> None:
    assert topic_for("call.answered") == "calls"
    assert topic_for("call.queued") == "calls"


@pytest.mark.parametrize("when", ["1899-12-31T23:00:00+00:00", "9999-12-31T23:30:00-01:00"])
def test_implausible_years_are_refused(when: str) -> None:
    # The last one cannot even be converted to UTC; both are export or clock errors.
    raw = answered() | {"time": when}
    [(field, message)] = problems(raw)
    assert field == "time"
    assert "outside 1900-2999" in message
