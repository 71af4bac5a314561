"""Properties of the source adapters on arbitrary input: Asterisk queue_log, CSV rows,
ticket webhooks and Alertmanager payloads (with the shipped specs in config/).

Each turns any input into valid events or a list of problems that name the line,
column, path or label at fault, and never raises (KeyError, TypeError, OverflowError …);
what it emits always passes the event contract.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.events import parse_event
from services.core.queues import parse_queues
from services.sources.alertmanager.mapping import load_alert_spec, map_alerts
from services.sources.asterisk.log import ENDS, ENTER, IGNORED
from services.sources.asterisk.parse import QueueLogParser
from services.sources.asterisk.stays import load_stays
from services.sources.csv.mapping import load_mapping, rows_to_events
from services.sources.mapping import MappingError
from services.sources.ticket_webhooks.mapping import load_webhook_spec, map_payload
from tests.strategies import json_values

FAST = settings(max_examples=100, deadline=None)
CONFIG = Path(__file__).resolve().parents[2] / "config"

# Times as exports and senders write them, with junk and far-off years mixed in.
times = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda t: t.isoformat()
).flatmap(lambda t: st.sampled_from([t, t + "Z", t + "+05:00", t + "-07:30"])) | st.text(
    max_size=25
)


def _load(name: str) -> Any:
    return yaml.safe_load((CONFIG / name).read_text(encoding="utf-8"))


# --- Asterisk queue_log ---------------------------------------------------------------

CALLER = "46701234567"  # a caller's number: it must never appear in a problem
epochs = st.integers(1_600_000_000, 1_700_000_000).map(str) | st.sampled_from(
    ["", "x", "-1", "1e300", "nan", "inf", "99999999999999", "1.5"]
)
waits = st.integers(0, 200_000).map(str) | st.sampled_from(["", "x", "-3", "nan", "1e400"])
event_names = st.sampled_from(sorted({ENTER, *ENDS, *list(IGNORED)[:4], "BOGUS", "", "connect"}))


@st.composite
def queue_log_lines(draw: st.DrawFn) -> str:
    fields = [
        draw(epochs),
        draw(st.sampled_from(["1.1", "1.2", "2.7", "", "NONE", "x" * 170])),
        draw(st.sampled_from(["500", "501", "", "REALTIME"])),
        draw(st.sampled_from(["NONE", "SIP/1"])),
        draw(event_names),
        *[draw(waits | st.just(CALLER)) for _ in range(draw(st.integers(0, 4)))],
    ]
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=60))
    return "|".join(fields)


@FAST
@given(st.lists(queue_log_lines(), max_size=30))
def test_any_queue_log_lines_give_valid_events_or_numbered_problems(lines: list[str]) -> None:
    parser = QueueLogParser({"500": "Askersund"})
    events = parser.feed_all(lines)
    for event in events:
        parse_event(event)  # raises if the parser let an invalid event through
    assert all(1 <= n <= len(lines) for n, _ in parser.problems)
    assert not any(CALLER in reason for _, reason in parser.problems)
    # A stay gives at most one terminal event: ids are never emitted twice.
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))


@FAST
@given(st.lists(queue_log_lines(), max_size=30), st.integers(0, 30))
def test_a_restored_snapshot_goes_on_as_if_never_stopped(lines: list[str], cut: int) -> None:
    straight = QueueLogParser({"500": "Askersund"}).feed_all(lines)
    first = QueueLogParser({"500": "Askersund"})
    head = first.feed_all(lines[:cut])
    # The snapshot goes through JSON, as it does on disk.
    snapshot = json.loads(json.dumps(first.snapshot()))
    second = QueueLogParser.restore({"500": "Askersund"}, snapshot)
    tail = second.feed_all(lines[cut:], first_line=min(cut, len(lines)) + 1)
    assert head + tail == straight


@FAST
@given(json_values)
def test_any_snapshot_is_restored_or_a_value_error(raw: object) -> None:
    try:
        load_stays(raw)  # type: ignore[arg-type]
    except ValueError as exc:
        assert "snapshot" in str(exc)


@pytest.mark.parametrize("line", [1e400, "x", None])
def test_a_snapshot_with_an_odd_line_number_is_a_value_error(line: object) -> None:
    # json.loads reads 1e400 as inf, and int(inf) raised OverflowError.
    stay = {"uniqueid": "1.1", "queue": "500", "touched": 1.0, "entered": None, "counted": False}
    end = {"event": "CONNECT", "at": 2.0, "wait": 1.0, "line": line}
    with pytest.raises(ValueError, match="snapshot"):
        load_stays({"version": 1, "newest": 2.0, "stays": [stay | {"end": end}]})


@FAST
@given(json_values)
def test_any_queues_file_is_a_mapping_or_a_value_error(raw: object) -> None:
    try:
        queues = parse_queues(raw)
    except ValueError as exc:
        assert str(exc)
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in queues.items())


# --- CSV mapping ----------------------------------------------------------------------

SPECS = {
    kind: load_mapping(_load(f"mappings/{kind}-generic.yaml"))
    for kind in ("calls", "tickets", "incidents")
}
cells = (
    times
    | st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        lambda t: t.strftime("%Y-%m-%d %H:%M:%S")
    )
    | st.sampled_from(["", " ", "1", "4", "0", "45,5", "1:05", "1e400", "answered", "Hög"])
    | st.text(max_size=12)
)


@st.composite
def csv_rows(draw: st.DrawFn, kind: str) -> list[tuple[int, dict[str, str]]]:
    columns = SPECS[kind].used_columns()
    n = draw(st.integers(1, 4))
    return [(line, {c: draw(cells) for c in columns}) for line in range(2, 2 + n)]


@FAST
@given(st.sampled_from(sorted(SPECS)).flatmap(lambda k: st.tuples(st.just(k), csv_rows(k))))
def test_any_csv_rows_give_valid_events_or_problems_naming_line_and_column(
    case: tuple[str, list[tuple[int, dict[str, str]]]],
) -> None:
    kind, rows = case
    spec = SPECS[kind]
    events, problems = rows_to_events(rows, spec)
    lines = {line for line, _ in rows}
    known = set(spec.used_columns()) | {f"{n} (constant)" for n in spec.columns}
    for p in problems:
        assert p.line in lines and p.message
        assert p.column in known or p.column.startswith("data."), p
    if not problems:
        for event in events:
            parse_event(event)


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["kind", "columns", "key", "timezone", "encoding", "x"]), json_values
    )
)
def test_any_mapping_file_is_a_spec_or_a_mapping_error(raw: dict[str, Any]) -> None:
    try:
        load_mapping(raw)
    except MappingError as exc:
        assert ":" in str(exc)  # "<where>: <what>"


# --- ticket webhooks ------------------------------------------------------------------

WEBHOOKS = {s: load_webhook_spec(_load(f"webhooks/{s}.yaml")) for s in ("zammad", "glpi")}


@st.composite
def zammad_like(draw: st.DrawFn) -> dict[str, Any]:
    """Zammad's payload shape with any values, so the mapping's paths are reached."""
    leaf = json_values | times
    ticket = {
        "number": draw(leaf),
        "state": draw(st.sampled_from(["new", "open", "closed", "pending close"]) | leaf),
        "priority": draw(st.sampled_from([{"name": "2 normal"}, {"name": "9"}]) | leaf),
        "group": draw(st.sampled_from([{"name": "Service Desk"}]) | leaf),
        "created_at": draw(times),
        "updated_at": draw(times),
    }
    return {"ticket": draw(st.sampled_from([ticket, {}]) | st.just(ticket) | leaf)}


@FAST
@given(
    st.sampled_from(sorted(WEBHOOKS)),
    st.dictionaries(st.text(max_size=8), json_values) | zammad_like(),
)
def test_any_webhook_payload_gives_valid_events_or_named_problems(
    source: str, payload: dict[str, Any]
) -> None:
    events, problems = map_payload(payload, WEBHOOKS[source])
    for where, message in problems:
        assert where and message
    if not problems:
        assert events
        for event in events:
            try:
                parse_event(event)
            except ValueError as exc:  # the route answers 422 naming these fields
                assert all(f for f, _ in exc.problems)  # type: ignore[attr-defined]


# --- Alertmanager ---------------------------------------------------------------------

ALERTS = load_alert_spec(_load("alerts.yaml"))
SERVICES = {"network", "mdm", "m365", "processmotor", "serverdrift", "e-tjanst-ansokan"}


@st.composite
def alerts(draw: st.DrawFn) -> object:
    labels = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "service": st.sampled_from(["sydnet", "teams", "nope"]) | st.text(max_size=8),
                "severity": st.sampled_from(["page", "ticket", "x"]),
                "impact": st.sampled_from(["outage", "degraded", "OUTAGE", "x"]),
                "incident_severity": st.sampled_from(["1", "4", "5", ""]),
                "municipality": st.sampled_from(["askersund,laxa", ",", "x"]),
                "alertname": st.text(max_size=10),
            },
        )
    )
    alert = {
        "status": draw(st.sampled_from(["firing", "resolved", "x"])),
        "labels": labels,
        "annotations": draw(st.sampled_from([{}, {"summary": ""}, {"summary": "s" * 400}])),
        "startsAt": draw(times),
        "endsAt": draw(times),
        "fingerprint": draw(st.sampled_from(["a1b2c3", "", "x/y"]) | st.text(max_size=70)),
    }
    return draw(st.just(alert) | json_values)


@FAST
@given(
    st.fixed_dictionaries({"version": st.sampled_from(["4", "3"]) | json_values})
    | st.fixed_dictionaries({"version": st.just("4"), "alerts": st.lists(alerts(), max_size=3)})
)
def test_any_alertmanager_payload_gives_valid_events_or_named_problems(payload: Any) -> None:
    mapped = map_alerts(payload, ALERTS, SERVICES)
    alerts_given = payload.get("alerts")
    for p in mapped.problems:
        assert p.field and p.message
        if p.index is not None:
            assert 0 <= p.index < len(alerts_given)
    assert not (mapped.problems and mapped.events)  # all the alerts, or none
    for _, event in mapped.events:
        parse_event(event)


@pytest.mark.parametrize("starts", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"])
def test_a_far_off_alert_time_is_a_problem_with_the_time(starts: str) -> None:
    # 9999 with a negative offset overflowed on its way to UTC.
    alert = {"status": "firing", "labels": {"service": "sydnet", "severity": "page"}}
    alert |= {"fingerprint": "a1", "startsAt": starts}
    mapped = map_alerts({"version": "4", "alerts": [alert]}, ALERTS, SERVICES)
    assert [(p.index, p.field) for p in mapped.problems] == [(0, "startsAt")]


def test_far_off_webhook_times_are_problems_with_the_time() -> None:
    # Year 1 with an offset overflowed on its way to UTC.
    start = (datetime(2022, 5, 2, tzinfo=UTC) + timedelta(hours=1)).isoformat()
    ticket = {"number": "1", "state": "new", "priority": {"name": "2 normal"}}
    ticket |= {"group": {"name": "Service Desk"}, "updated_at": start}
    events, problems = map_payload(
        {"ticket": ticket | {"created_at": "0001-01-01T00:00:00+01:00"}}, WEBHOOKS["zammad"]
    )
    assert events == []
    assert [w for w, _ in problems] == ["ticket.created time (ticket.created_at)"]
