"""Tests for services.sources.csv.mapping (CSV rows → events) and services.sources.csv.read (reading).

Expected events are worked out by hand from the rows. Europe/Stockholm changed to
summer time on 2022-03-27 (02:00 → 03:00, so 02:30 never happened) and back on
2022-10-30 (03:00 → 02:00, so 02:30 happened twice: +02:00, then +01:00).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.client import ClientError
from services.core.events import parse_event
from services.core.tickets import ticket_state
from services.core.timeparse import parse_seconds
from services.sources.csv.mapping import (
    MappingSpec,
    RowProblem,
    header_problems,
    load_mapping,
    rows_to_events,
)
from services.sources.csv.read import load_spec, prepare, read_rows, sniff_delimiter
from services.sources.mapping import MappingError, event_id
from tests.builders import envelope, ticket_data
from tests.parsed import parse_ticket

REPO = Path(__file__).resolve().parents[2]

TICKETS: dict[str, Any] = {
    "kind": "tickets",
    "id_prefix": "sd",
    "time_format": "%Y-%m-%d %H:%M",
    "columns": {
        "ticket_id": "Nr",
        "category": "Kategori",
        "priority": {"column": "Prio", "map": {"Hög": 2, "Normal": 3}},
        "municipality": {"value": "Askersund"},
        "created_at": "Skapad",
        "paused_at": "Paus",
        "resumed_at": "Åter",
        "resolved_at": "Löst",
        "closed_at": "Stängd",
    },
}
CALLS: dict[str, Any] = {
    "kind": "calls",
    "time_format": "iso",
    "columns": {
        "call_id": "id",
        "queue": "queue",
        "municipality": "kommun",
        "entered_at": "in",
        "wait_seconds": "wait",
        "outcome": "outcome",
    },
}
INCIDENTS: dict[str, Any] = {
    "kind": "incidents",
    "id_prefix": "inc",
    "columns": {
        "incident_id": "ID",
        "service": "Tjänst",
        "severity": "Sev",
        "impact": "Påverkan",
        "municipalities": {"column": "Kommuner", "split": "|"},
        "title": "Rubrik",
        "opened_at": "Öppnad",
        "acknowledged_at": "Kvitterad",
        "resolved_at": "Åtgärdad",
    },
}


def ticket_row(nr: str = "SD-1", **cells: str) -> dict[str, str]:
    base = {
        "Nr": nr,
        "Kategori": "Behörighet",
        "Prio": "Normal",
        "Skapad": "2022-09-13 08:14",
        "Paus": "",
        "Åter": "",
        "Löst": "",
        "Stängd": "",
    }
    return base | cells


def spec(base: dict[str, Any], **changes: Any) -> MappingSpec:
    return load_mapping(base | changes)


def one(events: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [event] = [e for e in events if e["type"] == kind]
    return event


# --- rows → events, by hand ---------------------------------------------------------------


def test_ticket_row_gives_one_event_per_filled_in_time() -> None:
    row = ticket_row(
        Paus="2022-09-13 09:00",
        Åter="2022-09-13 10:00",
        Löst="2022-09-13 11:14",
        Stängd="2022-09-14 08:00",
    )
    events, problems = rows_to_events([(2, row)], spec(TICKETS))
    assert problems == []
    data = ticket_data("SD-1", "Behörighet", 3, "Askersund")
    assert events == [
        envelope(
            f"ticket.{step}", data, id=f"sd-SD-1-{step}", source="/import/csv/tickets", time=time
        )
        for step, time in [
            ("created", "2022-09-13T08:14:00+02:00"),
            ("paused", "2022-09-13T09:00:00+02:00"),
            ("resumed", "2022-09-13T10:00:00+02:00"),
            ("resolved", "2022-09-13T11:14:00+02:00"),
            ("closed", "2022-09-14T08:00:00+02:00"),
        ]
    ]
    # 3 h from creation to resolution, 1 h of it paused.
    state = ticket_state([parse_ticket(e) for e in events])
    assert state.handling_hours == pytest.approx(2.0)


def test_open_ticket_gives_only_its_creation() -> None:
    events, problems = rows_to_events([(2, ticket_row())], spec(TICKETS))
    assert problems == []
    assert [e["type"] for e in events] == ["ticket.created"]


def test_call_rows_give_queued_and_the_terminal_event() -> None:
    rows = [
        (2, {"id": "c1", "queue": "askersund", "kommun": "Askersund",
             "in": "2022-05-02T08:00:00+02:00", "wait": "0:45", "outcome": "answered"}),
        (3, {"id": "c2", "queue": "laxa", "kommun": "Laxå",
             "in": "2022-05-02T08:00:10", "wait": "3,5", "outcome": "abandoned"}),
        (4, {"id": "c3", "queue": "laxa", "kommun": "Laxå",
             "in": "2022-05-02T06:00:00Z", "wait": "120", "outcome": "timeout"}),
    ]  # fmt: skip
    events, problems = rows_to_events(rows, spec(CALLS))
    assert problems == []
    got = [(e["id"], e["type"], e["time"], e["data"]) for e in events]
    place = {"queue": "askersund", "municipality": "Askersund"}
    laxa = {"queue": "laxa", "municipality": "Laxå"}
    assert got == [
        ("csv-calls-c1-queued", "call.queued", "2022-05-02T08:00:00+02:00",
         {"call_id": "c1"} | place),
        ("csv-calls-c1-end", "call.answered", "2022-05-02T08:00:45+02:00",
         {"call_id": "c1"} | place | {"wait_seconds": 45.0}),
        ("csv-calls-c2-queued", "call.queued", "2022-05-02T08:00:10+02:00",
         {"call_id": "c2"} | laxa),
        ("csv-calls-c2-end", "call.abandoned", "2022-05-02T08:00:13.500000+02:00",
         {"call_id": "c2"} | laxa | {"wait_seconds": 3.5}),
        ("csv-calls-c3-queued", "call.queued", "2022-05-02T06:00:00+00:00",
         {"call_id": "c3"} | laxa),
        ("csv-calls-c3-end", "call.exited", "2022-05-02T06:02:00+00:00",
         {"call_id": "c3"} | laxa | {"wait_seconds": 120.0, "reason": "timeout"}),
    ]  # fmt: skip


def test_incident_row_gives_opened_acknowledged_resolved() -> None:
    row = {
        "ID": "INC-147",
        "Tjänst": "network",
        "Sev": "2",
        "Påverkan": "outage",
        "Kommuner": "Askersund| Hallsberg |Laxå",
        "Rubrik": "Avbrott i nätet",
        "Öppnad": "2022-06-14T19:05:00",
        "Kvitterad": "2022-06-14T19:12:00",
        "Åtgärdad": "",
    }
    events, problems = rows_to_events([(2, row)], spec(INCIDENTS))
    assert problems == []
    assert [(e["id"], e["time"]) for e in events] == [
        ("inc-INC-147-opened", "2022-06-14T19:05:00+02:00"),
        ("inc-INC-147-acknowledged", "2022-06-14T19:12:00+02:00"),
    ]
    assert events[0]["data"] == {
        "incident_id": "INC-147",
        "service": "network",
        "severity": 2,
        "impact": "outage",
        "municipalities": ["Askersund", "Hallsberg", "Laxå"],
        "title": "Avbrott i nätet",
    }
    assert events[1]["data"] == {"incident_id": "INC-147", "service": "network"}


def test_ids_are_the_same_on_every_import() -> None:
    rows = [(2, ticket_row("SD-1", Löst="2022-09-13 10:00")), (3, ticket_row("SD-2"))]
    first, _ = rows_to_events(rows, spec(TICKETS))
    again, _ = rows_to_events(list(reversed(rows)), spec(TICKETS))
    assert sorted(e["id"] for e in first) == sorted(e["id"] for e in again)
    assert sorted(e["id"] for e in first) == [
        "sd-SD-1-created",
        "sd-SD-1-resolved",
        "sd-SD-2-created",
    ]


def test_long_keys_give_ids_within_the_limit() -> None:
    eid = event_id("csv-tickets", "x" * 300, "created")
    assert len(eid) <= 200
    assert eid.startswith("csv-tickets-")
    assert eid != event_id("csv-tickets", "x" * 300, "resolved")


# --- problems: each one, with its line --------------------------------------------------------


def test_every_problem_is_reported_with_its_line_and_column() -> None:
    rows = [
        (2, ticket_row("SD-1")),  # fine
        (3, ticket_row("SD-2", Prio="Akut")),  # not in the map
        (4, ticket_row("SD-3", Skapad="13/9 2022")),  # wrong time format
        (5, ticket_row("SD-4", Löst="2022-09-13 08:00")),  # resolved before created
        (6, ticket_row("SD-1")),  # the key again
        (7, ticket_row("SD-5", Kategori=" ", Åter="2022-09-13 10:00")),  # two problems
        (9, ticket_row("")),  # no key (line 8 was a blank line)
        (10, ticket_row("")),  # no key either: not "also on line 9"
    ]
    events, problems = rows_to_events(rows, spec(TICKETS))
    assert [(p.line, p.column) for p in problems] == [
        (3, "Prio"),
        (4, "Skapad"),
        (5, "Löst"),
        (6, "Nr"),
        (7, "Kategori"),
        (9, "Nr"),
        (10, "Nr"),
    ]
    by_line = {p.line: p.message for p in problems}
    assert by_line[3] == "priority: 'Akut' is not in the map (known: 'Hög', 'Normal')"
    assert by_line[4] == "created_at: '13/9 2022' is not a time as '%Y-%m-%d %H:%M'"
    assert by_line[5] == (
        "resolved_at 2022-09-13T08:00:00+02:00 is before created_at 2022-09-13T08:14:00+02:00"
    )
    assert by_line[6] == "'SD-1' is also on line 2"
    assert by_line[7] == "category: is empty"
    assert by_line[9] == by_line[10] == "the key is empty"
    assert {e["data"]["ticket_id"] for e in events} == {"SD-1"}


def test_a_resume_without_a_pause_is_a_problem() -> None:
    row = ticket_row(Åter="2022-09-13 10:00")
    _, problems = rows_to_events([(2, row)], spec(TICKETS))
    assert problems == [RowProblem(2, "Åter", "resumed_at without paused_at")]


def test_contract_problems_name_the_column_behind_the_field() -> None:
    # No value maps here: parse_event is what refuses severity 7 and impact "broken".
    row = {
        "ID": "INC-9",
        "Tjänst": "network",
        "Sev": "7",
        "Påverkan": "broken",
        "Kommuner": "",
        "Rubrik": "",
        "Öppnad": "2022-06-14T19:05:00",
        "Kvitterad": "",
        "Åtgärdad": "",
    }
    events, problems = rows_to_events([(12, row)], spec(INCIDENTS))
    assert sorted((p.line, p.column) for p in problems) == [(12, "Påverkan"), (12, "Sev")]
    assert len(events) == 1  # built, but refused: the caller sends nothing


@pytest.mark.parametrize(
    ("cells", "column", "says"),
    [
        ({"wait": "soon"}, "wait", "is not seconds"),
        ({"wait": "-3"}, "wait", "'-3' is not a number >= 0"),
        ({"wait": "90000"}, "wait", "is not 0 to 86400 seconds"),
        ({"outcome": "transferred"}, "outcome", "is not an outcome (one of answered, abandoned"),
        ({"in": "2022-05-02 8.00"}, "in", "is not an ISO 8601 time"),
        ({"queue": ""}, "queue", "queue: is empty"),
    ],
)
def test_call_cell_problems(cells: dict[str, str], column: str, says: str) -> None:
    row = {"id": "c1", "queue": "q", "kommun": "K", "in": "2022-05-02T08:00:00", "wait": "4"}
    _, problems = rows_to_events([(5, row | {"outcome": "answered"} | cells)], spec(CALLS))
    assert [(p.line, p.column) for p in problems] == [(5, column)]
    assert says in problems[0].message


def test_missing_header_columns_are_named() -> None:
    problems = header_problems(["Nr", "Kategori", "Prio", "Skapad"], spec(TICKETS))
    assert [(p.line, p.column) for p in problems] == [
        (1, "Paus"),
        (1, "Åter"),
        (1, "Löst"),
        (1, "Stängd"),
    ]


# --- time zones and DST -----------------------------------------------------------------------


def test_a_time_the_clock_skipped_is_a_problem() -> None:
    _, problems = rows_to_events([(2, ticket_row(Skapad="2022-03-27 02:30"))], spec(TICKETS))
    assert problems == [
        RowProblem(
            2,
            "Skapad",
            "created_at: 2022-03-27 02:30 does not exist in Europe/Stockholm (the clocks go forward)",
        )
    ]


@pytest.mark.parametrize(
    ("choice", "offset"), [("reject", None), ("earlier", "+02:00"), ("later", "+01:00")]
)
def test_a_time_that_happened_twice(choice: str, offset: str | None) -> None:
    row = ticket_row(Skapad="2022-10-30 02:30")
    events, problems = rows_to_events([(2, row)], spec(TICKETS, ambiguous_times=choice))
    if offset is None:
        assert [(p.column, p.message.split(":")[0]) for p in problems] == [("Skapad", "created_at")]
        assert "happens twice in Europe/Stockholm" in problems[0].message
        assert "ambiguous_times" in problems[0].message
    else:
        assert problems == []
        assert events[0]["time"] == f"2022-10-30T02:30:00{offset}"


def test_handling_time_over_the_autumn_change_counts_real_hours() -> None:
    # 01:15 summer time to 04:15 winter time: 3 hours on the wall clock, 4 in reality.
    row = ticket_row(Skapad="2022-10-30 01:15", Löst="2022-10-30 04:15")
    events, problems = rows_to_events([(2, row)], spec(TICKETS))
    assert problems == []
    assert [e["time"] for e in events] == ["2022-10-30T01:15:00+02:00", "2022-10-30T04:15:00+01:00"]
    state = ticket_state([parse_ticket(e) for e in events])
    assert state.handling_hours == pytest.approx(4.0)


def test_a_wait_over_the_autumn_change_ends_in_winter_time() -> None:
    # Entered at 02:59:30 summer time (the earlier 02:59:30); 60 s later it is 02:00:30
    # winter time. Adding on the wall clock would give 03:00:30, an hour too late.
    row = {"id": "c1", "queue": "q", "kommun": "K", "in": "2022-10-30T02:59:30",
           "wait": "60", "outcome": "answered"}  # fmt: skip
    events, problems = rows_to_events([(2, row)], spec(CALLS, ambiguous_times="earlier"))
    assert problems == []
    assert [e["time"] for e in events] == ["2022-10-30T02:59:30+02:00", "2022-10-30T02:00:30+01:00"]


def test_an_explicit_offset_is_kept_and_another_zone_applies_to_naive_times() -> None:
    naive = {"id": "c1", "queue": "q", "kommun": "K", "in": "2022-01-10T08:00:00",
             "wait": "0", "outcome": "answered"}  # fmt: skip
    aware = naive | {"id": "c2", "in": "2022-01-10T08:00:00+05:00"}
    events, _ = rows_to_events([(2, naive), (3, aware)], spec(CALLS, timezone="Europe/London"))
    assert [e["time"] for e in events if e["type"] == "call.queued"] == [
        "2022-01-10T08:00:00+00:00",
        "2022-01-10T08:00:00+05:00",
    ]


# --- the spec --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"kind": "changes"}, "kind: Input should be 'calls', 'tickets' or 'incidents'"),
        (
            {"columns": TICKETS["columns"] | {"colour": "Färg"}},
            "unknown fields for tickets: colour",
        ),
        (
            {"columns": {k: v for k, v in TICKETS["columns"].items() if k != "created_at"}},
            "tickets need columns for: created_at",
        ),
        ({"timezone": "Europe/Atlantis"}, "unknown time zone 'Europe/Atlantis'"),
        ({"encoding": "utf-9"}, "unknown encoding 'utf-9'"),
        (
            {"columns": TICKETS["columns"] | {"category": {"column": "K", "value": "x"}}},
            "columns.category: give either `column` or `value` (a constant)",
        ),
        (
            {"columns": TICKETS["columns"] | {"ticket_id": {"value": "SD-1"}}},
            "ticket_id is a constant: name the `key` column",
        ),
        ({"delimiter": ":"}, "delimiter: Input should be"),
    ],
)
def test_a_bad_spec_says_what_is_wrong(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(MappingError) as exc:
        load_mapping(TICKETS | changes)
    assert says in str(exc.value)


def test_yaml_number_keys_in_a_map_match_cells() -> None:
    s = spec(TICKETS, columns=TICKETS["columns"] | {"priority": {"column": "Prio", "map": {1: 2}}})
    events, problems = rows_to_events([(2, ticket_row(Prio="1"))], s)
    assert problems == []
    assert events[0]["data"]["priority"] == 2


def test_a_default_fills_empty_and_unmapped_cells() -> None:
    prio = {"column": "Prio", "map": {"Hög": 2}, "default": 4}
    s = spec(TICKETS, columns=TICKETS["columns"] | {"priority": prio})
    rows = [
        (2, ticket_row("SD-1", Prio="")),
        (3, ticket_row("SD-2", Prio="okänd")),
        (4, ticket_row("SD-3", Prio="hög")),
    ]
    events, problems = rows_to_events(rows, s)
    assert problems == []
    assert [e["data"]["priority"] for e in events] == [4, 4, 2]  # map keys match any case


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45", 45.0),
        ("45.5", 45.5),
        ("45,5", 45.5),
        ("1:05", 65.0),
        ("0:01:05", 65.0),
        ("1:00:00", 3600.0),
    ],
)
def test_parse_seconds(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


# --- reading the file (services.sources.csv.read) ----------------------------------------------


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [("Nr;Kategori;Prio", ";"), ("Nr,Kategori,Prio", ","), ("Nr\tKategori", "\t"), ("Nr", ",")],
)
def test_sniff_delimiter(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter


def test_read_rows_numbers_lines_as_an_editor_does() -> None:
    s = spec(CALLS)
    text = (
        "id;queue;kommun;in;wait;outcome\n"
        "c1;q;K;2022-05-02T08:00:00;1;answered\n"
        "\n"
        'c2;"two\nlines";K;2022-05-02T08:00:00;1;answered\n'
        "c3;q;K;2022-05-02T08:00:00;1\n"
        ";;;;;\n"
        "c4;q;K;2022-05-02T08:00:00;1;answered\n"
    )
    rows, problems = read_rows(text, s)
    assert [(line, row["id"]) for line, row in rows] == [(2, "c1"), (4, "c2"), (8, "c4")]
    assert problems == [
        RowProblem(6, "(row)", "5 fields where the header has 6 (delimiter ';')"),
    ]


@pytest.mark.parametrize("kind", ["tickets", "calls", "incidents"])
def test_the_shipped_examples_import_cleanly(kind: str) -> None:
    s = load_spec(REPO / "config" / "mappings" / f"{kind}-generic.yaml")
    assert s.kind == kind
    rows, events = prepare(REPO / "examples" / "csv" / f"{kind}.csv", s)
    assert rows > 0
    assert len({e["id"] for e in events}) == len(events)
    for e in events:
        parse_event(e)


def test_prepare_lists_every_bad_line_and_refuses_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text(
        "Nr;Kategori;Prio;Skapad;Paus;Åter;Löst;Stängd\n"
        "SD-1;Behörighet;Normal;2022-09-13 08:14;;;;\n"
        "SD-2;Behörighet;Akut;2022-09-13 08:14;;;;\n"
        "SD-3;Behörighet;Normal;2022-09-13 08:14;;;\n",
        encoding="utf-8",
    )
    with pytest.raises(ClientError) as exc:
        prepare(path, spec(TICKETS))
    assert str(exc.value).splitlines() == [
        "2 problem(s) on 2 line(s); nothing was sent:",
        "line 3: Prio: priority: 'Akut' is not in the map (known: 'Hög', 'Normal')",
        "line 4: (row): 7 fields where the header has 8 (delimiter ';')",
    ]


def test_prepare_names_a_missing_column_once(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    path.write_text("Nr,Kategori,Prio,Skapad,Paus,Åter,Löst\nSD-1,B,Normal,2022-09-13 08:14,,,\n")
    with pytest.raises(ClientError) as exc:
        prepare(path, spec(TICKETS))
    assert "line 1: Stängd: no such column in the header" in str(exc.value)
    assert "1 problem(s) on 1 line(s)" in str(exc.value)


def test_prepare_reads_the_encoding_of_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "tickets.csv"
    text = (
        "Nr;Kategori;Prio;Skapad;Paus;Åter;Löst;Stängd\nSD-1;Behörighet;Hög;2022-09-13 08:14;;;;\n"
    )
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(ClientError, match="not utf-8-sig text"):
        prepare(path, spec(TICKETS))
    rows, events = prepare(path, spec(TICKETS, encoding="cp1252"))
    assert (rows, events[0]["data"]["category"], events[0]["data"]["priority"]) == (
        1,
        "Behörighet",
        2,
    )
