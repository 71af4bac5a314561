"""Properties of the event contract's parsers (services.core.events) on arbitrary input.

On anything at all, parse_event / parse_event_json return an event or raise EventError
(never KeyError, TypeError, OverflowError …); when one field of a valid event is broken
the error names that field; and every valid event survives model → JSON → parse.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal, get_args

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.core.contracts.text import NAME_PATTERN, unstorable
from services.core.events import EVENT_MODELS, EventError, parse_event, parse_event_json
from services.observability.processor_metrics import DEADLETTER_REASONS, deadletter_reason
from tests.builders import envelope, ticket_data
from tests.strategies import free_texts, json_values, names

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- valid events, generated field by field ------------------------------------------

# ISO 8601 with a whole-minute UTC offset (what JSON producers write), years 1900-2999.
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
instants = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30), timezones=offsets
)
waits = st.floats(min_value=0, max_value=86_400)
levels = st.integers(min_value=1, max_value=4)
values = st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
# A public notice's texts: printable (control characters are refused), not blank.
notice_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Cn"]),
    min_size=1,
    max_size=100,
).filter(str.strip)
notice_text = st.fixed_dictionaries(
    {"what": notice_texts}, optional={"affected": notice_texts, "action": notice_texts}
)

FIELDS: dict[str, st.SearchStrategy[Any]] = {
    **dict.fromkeys(("call_id", "queue", "municipality", "ticket_id", "category"), names),
    **dict.fromkeys(("incident_id", "service", "change_id", "freeze_id", "indicator"), names),
    "wait_seconds": waits,
    "talk_seconds": waits,
    "entered_at": st.none() | instants,
    "priority": levels,
    "severity": levels,
    "municipalities": st.lists(names, max_size=5),
    "planned_work": st.none() | names,
    "title": st.none() | free_texts,
    "reason": st.none() | free_texts,  # a freeze's; call.exited's is a Literal
    "planned_start": instants,
    "planned_end": instants,
    "starts_at": instants,
    "ends_at": instants,
    "emergency": st.booleans(),
    "exception_approved_by": st.none() | names,
    "scope": st.lists(names, min_size=1, max_size=5),
    "value": values,
    "forecast": st.none() | values,
    "as_of": st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)),
    "target_hours": st.floats(min_value=0, max_value=1e6, exclude_min=True),
    "elapsed_hours": st.floats(min_value=0, max_value=1e6),
    "notice": st.none()
    | st.fixed_dictionaries(
        {"sv": notice_text}, optional={"en": notice_text, "expected_end": instants}
    ),
}


def _literals(annotation: Any) -> list[str]:
    """The choices of a Literal field, also inside `Literal[...] | None`."""
    if getattr(annotation, "__origin__", None) is Literal:
        return list(get_args(annotation))
    return [c for a in get_args(annotation) for c in _literals(a)]


def _field(model: Any, name: str) -> st.SearchStrategy[Any]:
    info = model.model_fields[name]
    choices = _literals(info.annotation)
    if not choices:
        return FIELDS[name]
    return st.sampled_from(choices) if info.is_required() else st.none() | st.sampled_from(choices)


@st.composite
def events(draw: st.DrawFn, event_type: str | None = None) -> dict[str, Any]:
    """A valid event as JSON values (the form producers send)."""
    kind = event_type or draw(st.sampled_from(sorted(EVENT_MODELS)))
    data_model = EVENT_MODELS[kind].model_fields["data"].annotation
    assert data_model is not None, f"{kind} has no data model"
    data: dict[str, Any] = {}
    for name, info in data_model.model_fields.items():
        if not info.is_required() and draw(st.booleans()):
            continue  # optional fields are sometimes left out
        data[name] = draw(_field(data_model, name))
    if kind == "freeze.declared":
        data["ends_at"] = data["starts_at"] + draw(
            st.timedeltas(timedelta(seconds=1), timedelta(days=400))
        )
        assume(data["ends_at"].year <= 2999)
    entity = data[data_model.entity]
    event = envelope(
        kind,
        data,
        id=draw(names),
        source=draw(names),
        time=draw(instants),
        subject=entity if draw(st.booleans()) else None,
    )
    decoded: dict[str, Any] = orjson.loads(orjson.dumps(event))  # datetimes, dates: ISO text
    return decoded


def test_every_data_field_has_a_generator() -> None:
    # Guard: a field added to a contract must be generated here too, or the
    # properties below silently stop covering it.
    for model in EVENT_MODELS.values():
        data_model = model.model_fields["data"].annotation
        for name in data_model.model_fields:  # type: ignore[union-attr]
            has = name in FIELDS or _literals(data_model.model_fields[name].annotation)  # type: ignore[union-attr]
            assert has, f"{model.__name__}.data.{name} has no generator"


# --- properties ---------------------------------------------------------------------


@FAST
@given(json_values)
def test_any_json_value_is_an_event_or_an_event_error(raw: object) -> None:
    try:
        parse_event(raw)
    except EventError as exc:
        assert exc.problems
        assert all(field and message for field, message in exc.problems)


@FAST
@given(st.binary(max_size=200) | json_values.map(orjson.dumps))
def test_any_bytes_are_an_event_or_an_event_error(raw: bytes) -> None:
    try:
        parse_event_json(raw)
    except EventError as exc:
        assert exc.problems


@FAST
@given(events())
def test_valid_events_round_trip_through_json(raw: dict[str, Any]) -> None:
    event = parse_event(raw)
    text = event.model_dump_json()
    again = parse_event_json(text)
    assert again == event
    # Equality alone would let True and 1.0 pass for each other (an indicator's value).
    assert again.model_dump_json() == text
    assert parse_event(json.loads(text)) == event
    assert event.subject == raw["data"][type(event.data).entity]


@FAST
@given(events(), st.data())
def test_one_broken_field_is_named(raw: dict[str, Any], data: st.DataObject) -> None:
    # Break one envelope or data field (replace it by any JSON value, or remove it).
    where = data.draw(
        st.sampled_from(
            [("id",), ("source",), ("time",), ("specversion",)]
            + [("data", name) for name in raw["data"]]
        )
    )
    broken = json.loads(json.dumps(raw))
    parent = broken if len(where) == 1 else broken["data"]
    if data.draw(st.booleans()):
        parent.pop(where[-1])
    else:
        parent[where[-1]] = data.draw(json_values)
    path = ".".join(where)
    entity = where == ("data", EVENT_MODELS[raw["type"]].model_fields["data"].annotation.entity)  # type: ignore[union-attr]
    freeze_times = raw["type"] == "freeze.declared" and where[-1] in ("starts_at", "ends_at")
    for parse in (parse_event, lambda b: parse_event_json(orjson.dumps(b))):
        try:
            parse(broken)
        except EventError as exc:
            for field, _ in exc.problems:
                named = field == path or field.startswith(f"{path}.")
                # A changed entity id no longer matches the subject; a moved freeze
                # time may end before it starts (the data's own check).
                allowed = (entity and field == "subject") or (freeze_times and field == "data")
                assert named or allowed, (path, exc.problems)


def _string_paths(node: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Where the strings are in a JSON value: each as its path of keys and indexes."""
    if isinstance(node, str):
        return [path]
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _string_paths(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _string_paths(v, (*path, i))]
    return []


# Characters no string of an event may hold: NUL (PostgreSQL text cannot) and the
# other controls, except the tab and line breaks free text may hold (tried apart).
refused = st.just("\x00") | st.characters(categories=["Cc"], exclude_characters="\t\n\r")


@FAST
@given(events(), refused, st.data())
def test_a_refused_character_in_any_string_is_named(
    raw: dict[str, Any], char: str, data: st.DataObject
) -> None:
    # Every string of the event (ids, source, type, times, data fields, list items)
    # gets the character somewhere; the event is refused naming exactly that string.
    where = data.draw(st.sampled_from(_string_paths(raw)))
    broken = json.loads(json.dumps(raw))
    parent = broken
    for key in where[:-1]:
        parent = parent[key]
    text = parent[where[-1]]
    at = data.draw(st.integers(min_value=0, max_value=len(text)))
    parent[where[-1]] = text[:at] + char + text[at:]
    path = ".".join(str(k) for k in where)
    for parse in (parse_event, lambda b: parse_event_json(orjson.dumps(b))):
        with pytest.raises(EventError) as caught:
            parse(broken)
        fields = [f for f, _ in caught.value.problems]
        assert fields and all(f == path or f.startswith(f"{path}.") for f in fields), (
            path,
            caught.value.problems,
        )


@FAST
@given(events(), st.sampled_from(["\t", "\n", "\r"]))
def test_free_text_may_hold_tabs_and_line_breaks_but_names_may_not(
    raw: dict[str, Any], char: str
) -> None:
    titled = raw["type"] in ("incident.opened", "change.scheduled")
    event = raw | {"data": raw["data"] | ({"title": f"a{char}b"} if titled else {})}
    parse_event(event)  # accepted
    with pytest.raises(EventError) as caught:
        parse_event(raw | {"id": f"a{char}b"})
    assert [f for f, _ in caught.value.problems] == ["id"]


@FAST
@given(events(), refused, st.text(st.characters(categories=["Ll"]), min_size=1, max_size=8))
def test_a_refused_character_in_an_extension_attribute_is_named(
    raw: dict[str, Any], char: str, name: str
) -> None:
    # Extension attributes are dropped, never stored; still, nothing unstorable gets in.
    assume(name not in raw and name not in ("subject", "datacontenttype"))
    for broken in (raw | {name: f"x{char}"}, raw | {f"{name}{char}": "x"}):
        for parse in (parse_event, lambda b: parse_event_json(orjson.dumps(b))):
            with pytest.raises(EventError) as caught:
                parse(broken)
            assert [f for f, _ in caught.value.problems] == [next(iter(broken.keys() - raw.keys()))]


@FAST
@given(events(), json_values.filter(lambda v: not (isinstance(v, str) and v in EVENT_MODELS)))
def test_an_unknown_type_is_named_as_the_type(raw: dict[str, Any], kind: object) -> None:
    broken = raw | {"type": kind}
    for parse in (parse_event, lambda b: parse_event_json(orjson.dumps(b))):
        with pytest.raises(EventError) as caught:
            parse(broken)
        assert [f for f, _ in caught.value.problems] == ["type"]


@pytest.mark.parametrize(
    "value", [float("inf"), float("-inf"), float("nan")], ids=["inf", "-inf", "nan"]
)
@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("indicator.measured", "value"),
        ("indicator.measured", "forecast"),
        ("sla.warning", "target_hours"),
        ("sla.breached", "elapsed_hours"),
    ],
)
def test_non_finite_numbers_are_refused(kind: str, field: str, value: float) -> None:
    # JSON has no such numbers (parse_event_json reads NaN and Infinity all the same);
    # accepted, they were stored as null, and the stored event no longer parsed.
    data = {
        "indicator.measured": {"indicator": "sick-leave", "value": 1.5, "as_of": "2022-05-01"},
    }.get(
        kind,
        ticket_data("t1", category="c", priority=1, municipality="m")
        | {"target_hours": 8, "elapsed_hours": 7, "clock": "calendar"},
    )
    raw = envelope(
        kind, data | {field: value}, id="e1", source="s", time=datetime(2022, 5, 2, tzinfo=UTC)
    )
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    # A union (number or yes/no) reports each alternative: data.value.float, ….bool.
    fields = [f for f, _ in caught.value.problems]
    assert fields and all(f.split(".")[:2] == ["data", field] for f in fields), fields


# --- dead-letter reasons (the label of opstrack_processor_deadlettered_total) --------


@FAST
@given(
    st.none() | st.binary(max_size=100) | json_values.map(orjson.dumps),
    st.sampled_from(["calls", "tickets", "incidents", "changes", "indicators"]),
    st.sampled_from(
        ["x: invalid", "processing failed: KeyError('x')", "store rejected: DataError('x')"]
    ),
)
def test_any_message_gets_one_of_the_few_reason_labels(
    value: bytes | None, topic: str, reason: str
) -> None:
    kind = deadletter_reason(topic, value, reason)
    assert kind in DEADLETTER_REASONS
    if reason.startswith("processing failed"):
        assert kind == "processing_failed"
    if reason.startswith("store rejected"):
        assert kind == "store_rejected"


@FAST
@given(events())
def test_a_valid_event_is_refused_only_off_its_topic(raw: dict[str, Any]) -> None:
    # The label by hand: an event of a known type is either on a wrong topic or has
    # a field the contract refuses (here: none, so only the topic can be wrong).
    value = orjson.dumps(raw)
    family = raw["type"].split(".")[0]
    own = {"freeze": "changes", "sla": "sla"}.get(family, family + "s")
    assert deadletter_reason(own, value, "x") == "invalid_field"
    assert deadletter_reason("calls" if own != "calls" else "tickets", value, "x") == "wrong_topic"


@FAST
@given(st.text(max_size=20) | names)
def test_the_documented_pattern_says_what_the_rule_does(text: str) -> None:
    # Query filters document the rule as a JSON Schema pattern (for clients and
    # schemathesis); the two must not drift apart.
    assert (re.fullmatch(NAME_PATTERN, text) is not None) == (
        bool(text) and unstorable(text) is None
    )
