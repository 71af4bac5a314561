"""Tests for services.core.incidents: state from events, downtime, availability, MTTA, MTTR.

Expected values are worked out by hand in the comments, or by a tiny minute-grid
reference in this file; never by calling the code under test.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.catalog import load_catalog
from services.core.events import IncidentEvent, parse_event
from services.core.incidents import (
    IncidentState,
    downtime_seconds,
    incident_figures,
    incident_state,
    service_downtime,
)
from services.core.periods import STOCKHOLM
from tests.builders import envelope, incident_data

JULY_1 = datetime(2022, 7, 1, tzinfo=UTC)
JULY_2 = datetime(2022, 7, 2, tzinfo=UTC)
LATER = datetime(2022, 9, 1, tzinfo=UTC)
DAY = 86_400.0


def at(hh: int, mm: int = 0, day: int = 1) -> datetime:
    return datetime(2022, 7, day, hh, mm, tzinfo=UTC)


def ev(kind: str, time: datetime, inc: str = "INC-1", service: str = "network", **data: Any) -> Any:
    """One incident event; unless given an `eid`, its id follows from its content."""
    content = f"{inc}{kind}{time.isoformat()}{sorted(data.items())}"
    eid = data.pop("eid", None) or hashlib.sha256(content.encode()).hexdigest()
    payload = incident_data(inc, service, **data)
    if kind == "opened":
        payload = {"severity": 2, "impact": "outage"} | payload
    return parse_event(envelope(f"incident.{kind}", payload, id=eid, time=time))


def outage(inc: str, service: str, start: datetime, end: datetime | None) -> IncidentState:
    events = [ev("opened", start, inc, service)]
    if end is not None:
        events.append(ev("resolved", end, inc, service))
    return incident_state(events)


CATALOG = load_catalog(
    {
        "services": [
            {"id": s, "name": s, "owner": "Drift", "municipalities": ["Laxå"], "depends_on": d}
            for s, d in [
                ("network", []),
                ("processmotor", ["network"]),
                ("ekonomiskt-bistand", ["processmotor"]),
                ("m365", ["network"]),
            ]
        ]
    }
)


# --- state -----------------------------------------------------------------------------


def test_lifecycle() -> None:
    state = incident_state(
        [
            ev(
                "opened",
                at(8),
                severity=2,
                impact="degraded",
                municipalities=["Hallsberg"],
                title="Processmotorn svarar långsamt",
                planned_work="CHG-7",
            ),
            ev("acknowledged", at(8, 10)),
            ev("resolved", at(9, 30)),
        ]
    )
    assert state.incident_id == "INC-1"
    assert state.service == "network"
    assert (state.severity, state.impact) == (2, "degraded")
    assert state.municipalities == ("Hallsberg",)
    assert state.title == "Processmotorn svarar långsamt"
    assert state.planned_work == "CHG-7"
    assert (state.opened_at, state.acknowledged_at, state.resolved_at) == (
        at(8),
        at(8, 10),
        at(9, 30),
    )
    assert state.outages == ()  # degraded all along


def test_earliest_opening_and_ack_latest_resolution_latest_severity() -> None:
    state = incident_state(
        [
            ev("opened", at(8), severity=3, title="first"),
            ev("opened", at(8, 5), severity=2, title="corrected"),  # a second opening, later
            ev("acknowledged", at(8, 20)),
            ev("acknowledged", at(8, 15)),
            ev("updated", at(9), severity=1),
            ev("updated", at(9, 30)),  # carries neither: changes nothing
            ev("resolved", at(10)),
            ev("resolved", at(11)),  # the first resolution was premature
        ]
    )
    assert state.opened_at == at(8)
    assert state.acknowledged_at == at(8, 15)
    assert state.resolved_at == at(11)
    assert state.severity == 1
    assert state.title == "corrected"
    assert state.outages == ((at(8), at(11)),)


def test_degraded_outage_degraded_via_updates() -> None:
    # 08:00 degraded, 09:00 outage, 09:20 severity only, 10:00 degraded, 11:00 outage,
    # 11:30 resolved: down 09:00-10:00 and 11:00-11:30.
    state = incident_state(
        [
            ev("opened", at(8), impact="degraded"),
            ev("updated", at(9), impact="outage"),
            ev("updated", at(9, 20), severity=1),
            ev("updated", at(10), impact="degraded"),
            ev("updated", at(11), impact="outage"),
            ev("resolved", at(11, 30)),
        ]
    )
    assert state.outages == ((at(9), at(10)), (at(11), at(11, 30)))
    assert state.impact == "outage"
    assert downtime_seconds(state.outages, JULY_1, JULY_2, LATER) == 3600 + 1800


def test_outage_to_outage_is_one_interval_and_unresolved_stays_open() -> None:
    state = incident_state([ev("opened", at(8)), ev("updated", at(9), impact="outage")])
    assert state.outages == ((at(8), None),)
    assert state.resolved_at is None


def test_times_are_utc() -> None:
    local = datetime(2022, 7, 1, 10, 0, tzinfo=STOCKHOLM)  # 08:00 UTC in summer
    state = incident_state([ev("opened", local)])
    assert state.opened_at == at(8)
    assert state.opened_at is not None and state.opened_at.utcoffset() == timedelta(0)


def test_events_before_the_opening_arrives() -> None:
    state = incident_state([ev("acknowledged", at(8, 10)), ev("updated", at(9), impact="outage")])
    assert state.opened_at is None
    assert state.acknowledged_at == at(8, 10)
    assert (state.severity, state.impact) == (None, "outage")
    assert state.outages == ((at(9), None),)


def test_an_update_before_the_opening_does_not_count_earlier_downtime() -> None:
    state = incident_state(
        [
            ev("updated", at(7), impact="outage"),
            ev("opened", at(8), impact="degraded"),
            ev("resolved", at(9)),
        ]
    )
    assert state.outages == ()


def test_an_update_may_move_the_incident_to_another_service() -> None:
    state = incident_state([ev("opened", at(8)), ev("updated", at(8, 30), service="processmotor")])
    assert state.service == "processmotor"


def test_refuses_no_events_and_mixed_incidents() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        incident_state([])
    with pytest.raises(ValueError, match="several incidents"):
        incident_state([ev("opened", at(8)), ev("opened", at(8), inc="INC-2")])


# --- downtime ----------------------------------------------------------------------------


def test_overlapping_outages_count_once_for_the_e_service() -> None:
    # network 10:00-11:00, processmotor 10:30-12:00, ekonomiskt-bistand 11:30-11:45.
    # For ekonomiskt-bistand the union is 10:00-12:00 = 7200 s, not 3600+5400+900 = 9900.
    incidents = [
        outage("N", "network", at(10), at(11)),
        outage("P", "processmotor", at(10, 30), at(12)),
        outage("E", "ekonomiskt-bistand", at(11, 30), at(11, 45)),
        incident_state(
            [
                ev("opened", at(13), "D", "network", impact="degraded"),
                ev("resolved", at(14), "D", "network"),
            ]
        ),
    ]
    d = service_downtime(incidents, CATALOG, JULY_1, JULY_2, LATER)
    e = d["ekonomiskt-bistand"]
    assert (e.own_seconds, e.total_seconds, e.inherited_seconds) == (900, 7200, 6300)
    assert e.via == ("network", "processmotor")
    assert e.availability == pytest.approx(1 - 7200 / DAY)  # 11/12
    p = d["processmotor"]
    assert (p.own_seconds, p.total_seconds, p.inherited_seconds, p.via) == (
        5400,
        7200,
        1800,
        ("network",),
    )
    n = d["network"]
    assert (n.own_seconds, n.total_seconds, n.inherited_seconds, n.via) == (3600, 3600, 0, ())
    m = d["m365"]
    assert (m.own_seconds, m.total_seconds, m.via) == (0, 3600, ("network",))


def test_every_catalog_service_and_unknown_services_with_incidents() -> None:
    d = service_downtime(
        [outage("X", "skrivare", at(10), at(10, 30))], CATALOG, JULY_1, JULY_2, LATER
    )
    assert set(d) == {"network", "processmotor", "ekonomiskt-bistand", "m365", "skrivare"}
    assert (d["skrivare"].total_seconds, d["skrivare"].via) == (1800, ())
    quiet = d["network"]
    assert (quiet.total_seconds, quiet.availability) == (0, 1.0)


def test_clipped_to_the_period() -> None:
    # 30 June 23:00 - 1 July 01:00 counts 1 h in July 1; 1 July 23:30 - 2 July 02:00 counts 30 min.
    ivs = [(datetime(2022, 6, 30, 23, tzinfo=UTC), at(1)), (at(23, 30), at(2, day=2))]
    assert downtime_seconds(ivs, JULY_1, JULY_2, LATER) == 3600 + 1800


def test_unresolved_outage_runs_to_now() -> None:
    # Open since 22:00, now 23:30: 90 min so far; availability divides by the whole day.
    inc = outage("N", "network", at(22), None)
    now = at(23, 30)
    assert downtime_seconds(inc.outages, JULY_1, JULY_2, now) == 5400
    d = service_downtime([inc], CATALOG, JULY_1, JULY_2, now)
    assert d["ekonomiskt-bistand"].total_seconds == 5400
    assert d["ekonomiskt-bistand"].availability == pytest.approx(1 - 5400 / DAY)
    # Later the same open outage has run to the end of the period: 2 h.
    assert downtime_seconds(inc.outages, JULY_1, JULY_2, LATER) == 7200


def test_a_period_not_yet_begun_has_no_availability() -> None:
    d = service_downtime([], CATALOG, JULY_1, JULY_2, datetime(2022, 6, 30, tzinfo=UTC))
    assert d["network"].total_seconds == 0
    assert d["network"].availability is None


def test_period_length_is_real_time_across_dst() -> None:
    # 27 March 2022 in Stockholm has 23 hours; a 1 h outage leaves 22/23 available.
    start = datetime(2022, 3, 27, tzinfo=STOCKHOLM)
    end = datetime(2022, 3, 28, tzinfo=STOCKHOLM)
    inc = outage(
        "N", "network", datetime(2022, 3, 27, 9, tzinfo=UTC), datetime(2022, 3, 27, 10, tzinfo=UTC)
    )
    d = service_downtime([inc], CATALOG, start, end, LATER)
    assert d["network"].availability == pytest.approx(22 / 23)
    # the whole local day, 23 h, from an outage that began the evening before
    whole = [(datetime(2022, 3, 26, 20, tzinfo=UTC), None)]
    assert downtime_seconds(whole, start, end, LATER) == 23 * 3600


def test_empty_period_is_refused() -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        service_downtime([], CATALOG, JULY_2, JULY_1, LATER)


# --- MTTA and MTTR ----------------------------------------------------------------------------


def test_mtta_and_mttr_by_hand() -> None:
    a = incident_state(
        [ev("opened", at(8), "A"), ev("acknowledged", at(8, 10), "A"), ev("resolved", at(10), "A")]
    )
    b = incident_state(
        [
            ev("opened", at(9), "B"),
            ev("acknowledged", at(9, 30), "B"),
            ev("resolved", at(9, 45), "B"),
        ]
    )
    # opened the day before, acknowledged after midnight (80 min), resolved the next day
    c = incident_state(
        [
            ev("opened", datetime(2022, 6, 30, 23, tzinfo=UTC), "C"),
            ev("acknowledged", at(0, 20), "C"),
            ev("resolved", at(1, day=2), "C"),
        ]
    )
    d = incident_state([ev("opened", at(12), "D")])
    figures = incident_figures([a, b, c, d], JULY_1, JULY_2)
    # opened A, B, D; resolved A, B; MTTA (10 + 30 + 80) / 3 = 40; MTTR (120 + 45) / 2 = 82.5
    assert figures == {"opened": 3, "resolved": 2, "mtta_minutes": 40.0, "mttr_minutes": 82.5}


def test_nothing_to_measure_is_none_not_zero() -> None:
    assert incident_figures([], JULY_1, JULY_2) == {
        "opened": 0,
        "resolved": 0,
        "mtta_minutes": None,
        "mttr_minutes": None,
    }
    only_open = incident_state([ev("opened", at(8))])
    assert incident_figures([only_open], JULY_1, JULY_2)["mttr_minutes"] is None


# --- properties -----------------------------------------------------------------------------------

T0 = datetime(2022, 7, 1, tzinfo=UTC)
KINDS = ("opened", "acknowledged", "updated", "resolved")


@st.composite
def incident_events(draw: st.DrawFn) -> list[IncidentEvent]:
    n = draw(st.integers(1, 10))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        data: dict[str, Any] = {"eid": f"e{i}"}
        if kind in ("opened", "updated"):
            data["impact"] = draw(
                st.sampled_from(["outage", "degraded"])
                if kind == "opened"
                else st.sampled_from(["outage", "degraded", None])
            )
            data["severity"] = draw(st.integers(1, 4))
        if kind == "updated" and data["impact"] is None:
            del data["impact"]
        out.append(ev(kind, T0 + timedelta(minutes=draw(st.integers(0, 30))), **data))
    return out


@settings(max_examples=200, deadline=None)
@given(incident_events(), st.randoms(use_true_random=False), st.data())
def test_state_is_a_function_of_the_set(events: list[Any], rnd: Any, data: st.DataObject) -> None:
    shuffled = list(events)
    rnd.shuffle(shuffled)
    extra = data.draw(st.lists(st.sampled_from(events), max_size=5))
    assert incident_state(shuffled + extra) == incident_state(events)


_RANK = {k: i for i, k in enumerate(KINDS)}


def reference_outage_minutes(events: list[Any]) -> set[int]:
    """Minutes (from T0) that are down, judged minute by minute from the raw events."""

    def key(e: Any) -> tuple[datetime, int, str]:
        return (e.time, _RANK[e.type.split(".")[1]], e.id)

    changes = sorted((e for e in events if getattr(e.data, "impact", None) is not None), key=key)
    opened = [e.time for e in events if e.type == "incident.opened"]
    resolved = [e.time for e in events if e.type == "incident.resolved"]
    if not changes:
        return set()
    start = min(opened) if opened else changes[0].time
    end = max(resolved) if resolved else T0 + timedelta(minutes=60)
    down = set()
    for m in range(60):
        mid = T0 + timedelta(minutes=m, seconds=30)
        if start <= mid < end:
            known = [e for e in changes if e.time <= mid]
            if known and known[-1].data.impact == "outage":
                down.add(m)
    return down


@settings(max_examples=300, deadline=None)
@given(incident_events())
def test_outages_match_a_minute_by_minute_reference(events: list[Any]) -> None:
    state = incident_state(events)
    end = T0 + timedelta(minutes=60)
    got = {
        m
        for m in range(60)
        for a, b in state.outages
        if a <= T0 + timedelta(minutes=m, seconds=30) < (b or end)
    }
    assert got == reference_outage_minutes(events)
    assert downtime_seconds(state.outages, T0, end, end) == 60 * len(got)


intervals = st.lists(
    st.tuples(st.integers(-20, 120), st.one_of(st.none(), st.integers(-20, 140))), max_size=8
)


@settings(max_examples=300, deadline=None)
@given(intervals, st.integers(0, 100), st.integers(1, 100), st.integers(-10, 130))
def test_downtime_of_a_union(
    raw: list[tuple[int, int | None]], s: int, length: int, n: int
) -> None:
    def t(m: int) -> datetime:
        return T0 + timedelta(minutes=m)

    ivs = [(t(a), None if b is None else t(b)) for a, b in raw]
    start, end, now = t(s), t(s + length), t(n)
    total = downtime_seconds(ivs, start, end, now)
    hi = min(s + length, n)

    def clipped(a: int, b: int | None) -> int:
        return max(0, min(hi, n if b is None else b) - max(a, s))

    parts = [60 * clipped(a, b) for a, b in raw]
    assert total <= 60 * max(0, hi - s)
    assert total <= sum(parts)
    assert total >= max(parts, default=0)
    # and exactly: the minutes covered by at least one interval, counted one by one
    covered = {m for a, b in raw for m in range(max(a, s), min(hi, n if b is None else b))}
    assert total == 60 * len(covered)
