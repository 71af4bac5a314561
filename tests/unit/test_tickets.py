"""Tests for services.core.tickets and services.core.sla: ticket state, handling time, SLA.

Hand-worked examples follow docs/definitions.md#tickets (handling time =
resolved_at - created_at - paused time, at the final resolution; a reopen continues the
same ticket). The properties generate valid ticket histories together with their
expected figures, kept by hand-written bookkeeping in the generator, and check that any
arrival order and any duplicates give the very same state.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.calendar import BusinessCalendar
from services.core.events import TicketEvent
from services.core.sla import SlaTargets, sla_elapsed_hours, sla_level
from services.core.tickets import TicketState, handling_summary, ticket_state
from tests.builders import envelope, ticket_data
from tests.parsed import parse_ticket
from tests.unit.test_calendar import QUARTER, reference_open_quarters

TZ = ZoneInfo("Europe/Stockholm")
CAL = BusinessCalendar()
EXAMPLES = Path(__file__).resolve().parents[2] / "schemas" / "examples"
H = 3600


def at(text: str) -> datetime:
    """A Stockholm wall-clock time, e.g. "2022-09-19 08:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def raw(
    kind: str,
    when: datetime | str,
    *,
    id: str | None = None,
    ticket: str = "SD-2022-000001",
    priority: int = 3,
    category: str = "Behörighet",
    municipality: str = "Askersund",
) -> dict[str, Any]:
    t = at(when) if isinstance(when, str) else when
    return envelope(
        f"ticket.{kind}",
        ticket_data(ticket, category, priority, municipality),
        id=id or f"{kind}@{t.isoformat()}",
        source="/itsm/servicedesk",
        time=t,
    )


def events(*raws: dict[str, Any]) -> list[TicketEvent]:
    return [parse_ticket(r) for r in raws]


def state(*steps: tuple[str, str], calendar: BusinessCalendar | None = None) -> TicketState:
    """The state of a history given as (kind, Stockholm time) pairs."""
    return ticket_state(events(*(raw(k, w) for k, w in steps)), calendar)


# --- handling time, hand-worked --------------------------------------------------------


def test_two_pauses() -> None:
    # 08:00-13:00 is 5 h, paused 09-10 and 11-11:30: 3.5 h
    s = state(
        ("created", "2022-09-19 08:00"),
        ("paused", "2022-09-19 09:00"),
        ("resumed", "2022-09-19 10:00"),
        ("paused", "2022-09-19 11:00"),
        ("resumed", "2022-09-19 11:30"),
        ("resolved", "2022-09-19 13:00"),
    )
    assert s.status == "resolved"
    assert s.handling_hours == 3.5
    assert s.pauses == (
        (at("2022-09-19 09:00"), at("2022-09-19 10:00")),
        (at("2022-09-19 11:00"), at("2022-09-19 11:30")),
    )
    assert s.paused_seconds(at("2022-09-19 10:30")) == 1 * H
    assert s.paused_seconds(at("2022-09-19 11:15")) == 1.25 * H
    assert s.paused_seconds(at("2022-09-20 00:00")) == 1.5 * H


def test_a_pause_never_resumed_ends_at_the_resolution() -> None:
    # 08-12 is 4 h, paused from 10 until the resolution: 2 h
    s = state(
        ("created", "2022-09-19 08:00"),
        ("paused", "2022-09-19 10:00"),
        ("resolved", "2022-09-19 12:00"),
    )
    assert s.pauses == ((at("2022-09-19 10:00"), at("2022-09-19 12:00")),)
    assert s.handling_hours == 2


def test_a_ticket_still_paused() -> None:
    s = state(("created", "2022-09-19 08:00"), ("paused", "2022-09-19 10:00"))
    assert s.status == "paused"
    assert s.pauses == ((at("2022-09-19 10:00"), None),)
    assert s.resolved_at is None
    assert s.handling_hours is None
    assert s.paused_seconds(at("2022-09-19 13:00")) == 3 * H


def test_a_reopen_continues_the_same_ticket_and_the_gap_counts() -> None:
    # 08-15 is 7 h; the 10-14 gap between resolution and reopen is not a pause
    s = state(
        ("created", "2022-09-19 08:00"),
        ("resolved", "2022-09-19 10:00"),
        ("reopened", "2022-09-19 14:00"),
        ("resolved", "2022-09-19 15:00"),
    )
    assert s.reopened == 1
    assert s.resolved_at == at("2022-09-19 15:00")
    assert s.handling_hours == 7


def test_a_pause_running_at_a_resolution_ends_there_and_not_at_the_reopen() -> None:
    # 08-13 is 5 h; paused 09 until the resolution at 10; 10-12 counts: 4 h
    s = state(
        ("created", "2022-09-19 08:00"),
        ("paused", "2022-09-19 09:00"),
        ("resolved", "2022-09-19 10:00"),
        ("reopened", "2022-09-19 12:00"),
        ("resolved", "2022-09-19 13:00"),
    )
    assert s.handling_hours == 4


def test_reopened_ticket_is_open_until_resolved_again() -> None:
    s = state(
        ("created", "2022-09-19 08:00"),
        ("resolved", "2022-09-19 10:00"),
        ("closed", "2022-09-22 10:00"),
        ("reopened", "2022-09-23 09:00"),
    )
    assert (s.status, s.resolved_at, s.closed_at, s.reopened) == ("open", None, None, 1)
    assert s.handling_hours is None


def test_resolved_arriving_before_created() -> None:
    steps = [raw("created", "2022-09-19 08:00"), raw("resolved", "2022-09-19 09:30")]
    early = ticket_state(events(*reversed(steps)))
    assert early == ticket_state(events(*steps))
    assert early.handling_hours == 1.5
    # Until the creation arrives the ticket is unknown and has no handling time.
    alone = ticket_state(events(steps[1]))
    assert (alone.status, alone.handling_hours) == ("unknown", None)


def test_closed_without_resolve_counts_the_close_as_the_resolution() -> None:
    s = state(("created", "2022-09-19 08:00"), ("closed", "2022-09-19 11:00"))
    assert s.status == "closed"
    assert s.resolved_at == s.closed_at == at("2022-09-19 11:00")
    assert s.handling_hours == 3


def test_resolved_then_closed_counts_the_resolution() -> None:
    s = state(
        ("created", "2022-09-19 08:00"),
        ("resolved", "2022-09-19 10:00"),
        ("closed", "2022-09-26 10:00"),
    )
    assert s.status == "closed"
    assert (s.resolved_at, s.closed_at) == (at("2022-09-19 10:00"), at("2022-09-26 10:00"))
    assert s.handling_hours == 2


def test_the_latest_of_two_resolutions_without_reopen_counts() -> None:
    s = state(
        ("created", "2022-09-19 08:00"),
        ("resolved", "2022-09-19 10:00"),
        ("resolved", "2022-09-19 11:00"),
    )
    assert s.handling_hours == 3


def test_second_pause_and_lone_resume_are_ignored() -> None:
    s = state(
        ("created", "2022-09-19 08:00"),
        ("resumed", "2022-09-19 08:30"),  # nothing to resume
        ("paused", "2022-09-19 09:00"),
        ("paused", "2022-09-19 09:30"),  # already paused
        ("resumed", "2022-09-19 10:00"),
        ("resolved", "2022-09-19 12:00"),
    )
    assert s.pauses == ((at("2022-09-19 09:00"), at("2022-09-19 10:00")),)
    assert s.handling_hours == 3


def test_duplicates_by_id_change_nothing() -> None:
    steps = [
        raw("created", "2022-09-19 08:00"),
        raw("paused", "2022-09-19 09:00"),
        raw("resolved", "2022-09-19 12:00"),
    ]
    assert ticket_state(events(*steps, *steps, steps[1])) == ticket_state(events(*steps))


def test_two_different_events_with_one_id_resolve_the_same_way_in_any_order() -> None:
    a = raw("resolved", "2022-09-19 10:00", id="evt-7")
    b = raw("resolved", "2022-09-19 11:00", id="evt-7")
    created = raw("created", "2022-09-19 08:00")
    assert ticket_state(events(created, a, b)) == ticket_state(events(b, created, a))


def test_attributes_come_from_the_latest_event_by_time() -> None:
    later = raw("paused", "2022-09-19 09:00", priority=1, category="Klient")
    first = raw("created", "2022-09-19 08:00", priority=3, category="Behörighet")
    s = ticket_state(events(later, first))
    assert (s.priority, s.category, s.municipality) == (1, "Klient", "Askersund")


def test_events_at_one_instant_follow_the_lifecycle() -> None:
    # A reopen stamped with its resolution's time comes after it: the ticket is open.
    s = state(
        ("created", "2022-09-19 08:00"),
        ("reopened", "2022-09-19 10:00"),
        ("resolved", "2022-09-19 10:00"),
    )
    assert (s.status, s.reopened) == ("open", 1)
    assert (
        state(("resolved", "2022-09-19 08:00"), ("created", "2022-09-19 08:00")).handling_hours == 0
    )


def test_a_pause_and_its_resume_at_one_instant_leave_the_ticket_open() -> None:
    s = state(
        ("created", "2022-09-19 08:00"),
        ("resumed", "2022-09-19 09:00"),
        ("paused", "2022-09-19 09:00"),
    )
    assert s.status == "open"
    assert s.pauses == ((at("2022-09-19 09:00"), at("2022-09-19 09:00")),)


def test_a_pause_stamped_before_the_creation_counts_from_the_creation() -> None:
    # paused 07:00-09:00 but created 08:00: 1 h paused of the 08-10 span, 1 h handling
    s = state(
        ("paused", "2022-09-19 07:00"),
        ("created", "2022-09-19 08:00"),
        ("resumed", "2022-09-19 09:00"),
        ("resolved", "2022-09-19 10:00"),
        calendar=CAL,
    )
    assert s.paused_seconds(at("2022-09-19 12:00")) == 1 * H
    assert s.handling_hours == 1
    assert s.business_handling_hours == 1


def test_a_resolution_stamped_before_the_creation_is_zero_not_negative() -> None:
    s = state(("created", "2022-09-19 09:00"), ("resolved", "2022-09-19 08:00"))
    assert s.handling_hours == 0
    assert (
        ticket_state(
            events(raw("created", "2022-09-19 09:00"), raw("resolved", "2022-09-19 08:00")), CAL
        ).business_handling_hours
        == 0
    )


def test_offsets_are_instants() -> None:
    # 10:00+02:00 is 08:00Z: the same instant written two ways
    s = ticket_state(
        events(
            raw("created", datetime(2022, 9, 19, 8, tzinfo=UTC)),
            raw("resolved", "2022-09-19 12:00"),
        )
    )
    assert s.handling_hours == 2


def test_one_ticket_per_state() -> None:
    with pytest.raises(ValueError, match="more than one ticket"):
        ticket_state(
            events(
                raw("created", "2022-09-19 08:00"),
                raw("created", "2022-09-19 08:00", ticket="SD-2", id="x"),
            )
        )
    with pytest.raises(ValueError, match="at least one"):
        ticket_state([])


# --- business handling time ------------------------------------------------------------


def test_business_handling_across_midsummer() -> None:
    # created Thu 23 June 16:00, resolved Mon 27 June 11:00, paused Mon 08:30-10:00.
    # calendar: 91 h - 1.5 h = 89.5 h
    # business: Thu 16-17 (1 h), Fri midsummer eve, weekend, Mon 08-11 (3 h) = 4 h;
    #           pause Mon 08:30-10:00 = 1.5 h -> 2.5 h
    steps = (
        ("created", "2022-06-23 16:00"),
        ("paused", "2022-06-27 08:30"),
        ("resumed", "2022-06-27 10:00"),
        ("resolved", "2022-06-27 11:00"),
    )
    s = state(*steps, calendar=CAL)
    assert s.handling_hours == 89.5
    assert s.business_handling_hours == 2.5
    assert state(*steps).business_handling_hours is None


def test_business_handling_of_a_pause_over_the_night() -> None:
    # created Mon 15:00, paused Mon 16:00 - Tue 09:00, resolved Tue 10:00
    # business: Mon 15-17 (2 h) + Tue 08-10 (2 h) = 4 h; pause Mon 16-17 + Tue 08-09 = 2 h
    s = state(
        ("created", "2022-09-19 15:00"),
        ("paused", "2022-09-19 16:00"),
        ("resumed", "2022-09-20 09:00"),
        ("resolved", "2022-09-20 10:00"),
        calendar=CAL,
    )
    assert s.business_handling_hours == 2
    assert s.handling_hours == 19 - 17


def test_the_example_payloads_fold_into_one_ticket() -> None:
    paths = sorted(EXAMPLES.glob("ticket.*.json"))
    assert len(paths) == 6
    s = ticket_state([parse_ticket(json.loads(p.read_text())) for p in paths], CAL)
    # created Tue 13 Sep 08:14, paused 09:02 - Wed 10:30 (25 h 28 min), resolved Wed
    # 11:05, reopened Thu 08:40, closed Thu 13:20 with no new resolution: the close is
    # the final resolution. Calendar: 53 h 06 min - 25 h 28 min = 27 h 38 min.
    # Business: Tue 08:14-17 (8 h 46) + Wed 9 h + Thu 08-13:20 (5 h 20) = 23 h 06;
    # pause Tue 09:02-17 (7 h 58) + Wed 08-10:30 (2 h 30) = 10 h 28 -> 12 h 38 min.
    assert (s.status, s.reopened, s.ticket_id) == ("closed", 1, "SD-2022-004711")
    assert s.handling_hours == pytest.approx(27 + 38 / 60)
    assert s.business_handling_hours == pytest.approx(12 + 38 / 60)


def test_handling_summary_skips_open_tickets() -> None:
    two = state(("created", "2022-09-19 08:00"), ("resolved", "2022-09-19 10:00"), calendar=CAL)
    four = state(("created", "2022-09-19 08:00"), ("resolved", "2022-09-19 12:00"), calendar=CAL)
    still_open = state(("created", "2022-09-19 08:00"), calendar=CAL)
    # 2 and 4: mean 3, median 3, p90 at rank 0.9 -> 2 + 0.9 * 2 = 3.8
    expected = {"mean": 3, "median": 3, "p90": pytest.approx(3.8)}
    assert handling_summary([two, four, still_open], business=False) == expected
    assert handling_summary([two, four, still_open], business=True) == expected
    assert handling_summary([still_open], business=False) == {
        "mean": None,
        "median": None,
        "p90": None,
    }
    assert (
        handling_summary(
            [state(("created", "2022-09-19 08:00"), ("resolved", "2022-09-19 10:00"))],
            business=True,
        )["mean"]
        is None
    )


# --- SLA clock ------------------------------------------------------------------------

TARGETS = SlaTargets({1: 4, 2: 8, 3: 24})
BUSINESS = SlaTargets({1: 4, 2: 8, 3: 24}, clock="business")


def p2(*steps: tuple[str, str]) -> TicketState:
    return ticket_state(events(*(raw(k, w, priority=2) for k, w in steps)))


@pytest.mark.parametrize(
    ("now", "elapsed", "level"),
    [
        ("2022-09-19 07:00", 0, "ok"),  # before creation
        ("2022-09-19 13:00", 5, "ok"),
        ("2022-09-19 14:00", 6, "warning"),  # exactly 75 % of 8 h
        ("2022-09-19 15:59", 7 + 59 / 60, "warning"),
        ("2022-09-19 16:00", 8, "breached"),  # exactly 100 %
    ],
)
def test_calendar_clock(now: str, elapsed: float, level: str) -> None:
    s = p2(("created", "2022-09-19 08:00"))
    assert sla_elapsed_hours(s, at(now)) == pytest.approx(elapsed)
    assert sla_level(s, TARGETS, at(now)) == level


def test_a_paused_ticket_stops_the_clock() -> None:
    paused = p2(("created", "2022-09-19 08:00"), ("paused", "2022-09-19 09:00"))
    assert sla_elapsed_hours(paused, at("2022-09-19 20:00")) == 1
    assert sla_level(paused, TARGETS, at("2022-09-19 20:00")) == "ok"
    resumed = p2(
        ("created", "2022-09-19 08:00"),
        ("paused", "2022-09-19 09:00"),
        ("resumed", "2022-09-19 12:00"),
    )
    assert sla_elapsed_hours(resumed, at("2022-09-19 13:00")) == 2


def test_business_clock_skips_nights_and_weekends() -> None:
    # created Fri 16:00; Mon 13:00 is 1 h + 5 h = 6 h of business time (69 h calendar)
    s = p2(("created", "2022-09-16 16:00"))
    now = at("2022-09-19 13:00")
    assert sla_elapsed_hours(s, now, CAL) == 6
    assert sla_level(s, BUSINESS, now, CAL) == "warning"
    assert sla_level(s, TARGETS, now, CAL) == "breached"  # calendar clock: 69 h
    assert sla_level(s, BUSINESS, at("2022-09-19 15:00"), CAL) == "breached"


def test_business_clock_minus_business_pauses() -> None:
    # created Mon 08:00, paused Mon 10:00 - Tue 09:00 (7 h + 1 h business), now Tue 12:00:
    # business 9 h + 4 h = 13 h, minus 8 h paused = 5 h
    s = p2(
        ("created", "2022-09-19 08:00"),
        ("paused", "2022-09-19 10:00"),
        ("resumed", "2022-09-20 09:00"),
    )
    assert sla_elapsed_hours(s, at("2022-09-20 12:00"), CAL) == 5


def test_no_level_for_closed_unknown_or_untargeted_tickets() -> None:
    now = at("2022-09-30 12:00")
    resolved = p2(("created", "2022-09-19 08:00"), ("resolved", "2022-09-19 09:00"))
    assert sla_level(resolved, TARGETS, now) is None
    assert sla_elapsed_hours(resolved, now) == 1  # the clock stopped at the resolution
    assert sla_level(p2(("paused", "2022-09-19 08:00")), TARGETS, now) is None
    low = ticket_state(events(raw("created", "2022-09-19 08:00", priority=4)))
    assert sla_level(low, TARGETS, now) is None


def test_business_targets_need_a_calendar() -> None:
    with pytest.raises(ValueError, match="BusinessCalendar"):
        sla_level(p2(("created", "2022-09-19 08:00")), BUSINESS, at("2022-09-19 09:00"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hours": {1: 0}},
        {"hours": {1: 4}, "warning_fraction": 0},
        {"hours": {1: 4}, "warning_fraction": 1.5},
    ],
)
def test_bad_targets_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SlaTargets(**kwargs)


# --- properties -----------------------------------------------------------------------

_BASE = datetime(2022, 1, 1, tzinfo=UTC)
_NEXT = {
    "open": ("paused", "resolved", "closed"),
    "paused": ("resumed", "resolved", "closed"),
    "resolved": ("reopened", "closed", "resolved"),
    "closed": ("reopened",),
}


@st.composite
def valid_histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A ticket history on quarter-hours with strictly increasing times, and its expected
    figures kept by bookkeeping that follows docs/definitions.md#pauses-and-reopens step by step."""
    t = _BASE + draw(st.integers(0, 364 * 96)) * QUARTER
    zone = draw(st.sampled_from([UTC, TZ]))  # the same instants, written two ways
    created, phase, reopens = t, "open", 0
    pauses: list[tuple[datetime, datetime]] = []
    paused_since: datetime | None = None
    resolved: datetime | None = None
    closed: datetime | None = None
    out = [raw("created", t.astimezone(zone), id="e0", priority=draw(st.integers(1, 4)))]
    for i in range(1, draw(st.integers(0, 9)) + 1):
        kind = draw(st.sampled_from(_NEXT[phase]))
        t += draw(st.integers(1, 96)) * QUARTER
        out.append(raw(kind, t.astimezone(zone), id=f"e{i}", priority=draw(st.integers(1, 4))))
        if paused_since is not None and kind != "paused":  # resumed, resolved or closed
            pauses.append((paused_since, t))
            paused_since = None
        if kind == "paused":
            paused_since, phase = t, "paused"
        elif kind == "resumed":
            phase = "open"
        elif kind == "resolved":
            resolved, phase = t, "resolved"
        elif kind == "closed":
            resolved, phase = (t if phase != "resolved" else resolved), "closed"
            closed = t
        else:
            reopens, resolved, closed, phase = reopens + 1, None, None, "open"
    expected: dict[str, Any] = {
        "status": phase,
        "created_at": created,
        "resolved_at": resolved,
        "closed_at": closed,
        "reopened": reopens,
        "priority": out[-1]["data"]["priority"],
        "pauses": pauses + ([] if paused_since is None else [(paused_since, None)]),
        "handling_hours": None,
        "business_handling_hours": None,
    }
    if resolved is not None:
        paused = sum((b - a for a, b in pauses), timedelta())
        expected["handling_hours"] = (resolved - created - paused).total_seconds() / H
        open_quarters = reference_open_quarters(created, resolved) - sum(
            reference_open_quarters(a, b) for a, b in pauses
        )
        expected["business_handling_hours"] = open_quarters / 4
    return out, expected


@settings(deadline=None)
@given(valid_histories())
def test_valid_histories_match_the_bookkeeping(
    history: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    raws, expected = history
    s = ticket_state(events(*raws), CAL)
    assert s.status == expected["status"]
    assert s.created_at == expected["created_at"]
    assert s.resolved_at == expected["resolved_at"]
    assert s.closed_at == expected["closed_at"]
    assert s.reopened == expected["reopened"]
    assert s.priority == expected["priority"]
    assert list(s.pauses) == expected["pauses"]
    if expected["handling_hours"] is None:
        assert s.handling_hours is None
        assert s.business_handling_hours is None
    else:
        assert s.handling_hours == pytest.approx(expected["handling_hours"], abs=1e-9)
        assert s.business_handling_hours == pytest.approx(
            expected["business_handling_hours"], abs=1e-9
        )
        assert s.business_handling_hours is not None and s.handling_hours is not None
        assert s.business_handling_hours <= s.handling_hours + 1e-9


_KINDS = ("created", "paused", "resumed", "resolved", "reopened", "closed")


@st.composite
def any_histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Any events at all, out of lifecycle order, with many at the same instant."""
    n = draw(st.integers(1, 12))
    return [
        raw(
            draw(st.sampled_from(_KINDS)),
            _BASE + draw(st.integers(0, 6)) * timedelta(hours=1),
            id=f"e{i}",
            priority=draw(st.integers(1, 4)),
        )
        for i in range(n)
    ]


@settings(deadline=None)
@given(st.data(), st.one_of(valid_histories().map(lambda h: h[0]), any_histories()))
def test_state_is_a_function_of_the_set_of_events(
    data: st.DataObject, raws: list[dict[str, Any]]
) -> None:
    again = data.draw(
        st.permutations(raws + data.draw(st.lists(st.sampled_from(raws), max_size=len(raws))))
    )
    one, two = ticket_state(events(*raws), CAL), ticket_state(events(*again), CAL)
    assert one == two
    assert one.status == two.status
    assert one.handling_hours == two.handling_hours
    assert one.business_handling_hours == two.business_handling_hours


_RANKS = {"ok": 0, "warning": 1, "breached": 2}


@settings(deadline=None)
@given(
    st.one_of(valid_histories().map(lambda h: h[0]), any_histories()),
    st.integers(0, 40 * 96),
    st.integers(0, 40 * 96),
    st.sampled_from(
        [TARGETS, BUSINESS, SlaTargets({1: 1, 2: 2, 3: 3, 4: 4}, warning_fraction=0.5)]
    ),
)
def test_sla_level_is_monotone_in_now(
    raws: list[dict[str, Any]], a: int, b: int, targets: SlaTargets
) -> None:
    s = ticket_state(events(*raws))
    earlier, later = (_BASE + min(a, b) * QUARTER, _BASE + max(a, b) * QUARTER)
    first, second = sla_level(s, targets, earlier, CAL), sla_level(s, targets, later, CAL)
    assert (first is None) == (second is None)
    if first is not None and second is not None:
        assert _RANKS[first] <= _RANKS[second]
    assert sla_elapsed_hours(s, earlier, CAL) <= sla_elapsed_hours(s, later, CAL)
