"""Tests for services.core.changes: change and freeze state, violations, the change figures.

Expected values are worked out by hand in the comments, never by the code under test.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.changes import (
    ChangeState,
    FreezeState,
    change_figures,
    change_state,
    freeze_state,
    violation,
)
from services.core.events import parse_event
from services.core.incidents import IncidentState, incident_state
from services.core.periods import STOCKHOLM
from tests.builders import envelope


def t(month: int, day: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(2022, month, day, hh, mm, tzinfo=UTC)


def event(kind: str, time: datetime, data: dict[str, Any], eid: str | None = None) -> Any:
    # Equal content, equal id: a resent event is a duplicate.
    content = f"{kind}{time}{sorted(data.items(), key=str)}"
    eid = eid or hashlib.sha256(content.encode()).hexdigest()
    return parse_event(envelope(kind, data, id=eid, time=time))


def scheduled(cid: str, time: datetime, start: datetime, end: datetime, **data: Any) -> Any:
    body = {
        "change_id": cid,
        "service": "network",
        "planned_start": start.isoformat(),
        "planned_end": end.isoformat(),
    } | data
    return event("change.scheduled", time, body)


def implemented(cid: str, time: datetime, service: str = "network", **data: Any) -> Any:
    return event("change.implemented", time, {"change_id": cid, "service": service} | data)


def declared(
    fid: str, time: datetime, start: datetime, end: datetime, scope: list[str], **data: Any
) -> Any:
    body = {
        "freeze_id": fid,
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "scope": scope,
    }
    return event("freeze.declared", time, body | data)


def lifted(fid: str, time: datetime) -> Any:
    return event("freeze.lifted", time, {"freeze_id": fid})


def done(cid: str, time: datetime, service: str, **data: Any) -> ChangeState:
    return change_state([implemented(cid, time, service, **data)])


def freeze(
    scope: list[str], start: datetime, end: datetime, *lifts: datetime, fid: str = "F"
) -> FreezeState:
    state = freeze_state(
        [declared(fid, start - timedelta(days=3), start, end, scope)]
        + [lifted(fid, x) for x in lifts]
    )
    assert state is not None
    return state


def incident(
    iid: str, service: str, opened: datetime, planned_work: str | None = None
) -> IncidentState:
    data = {"incident_id": iid, "service": service, "severity": 2, "impact": "outage"}
    if planned_work:
        data["planned_work"] = planned_work
    return incident_state([event("incident.opened", opened, data)])


# --- change state ------------------------------------------------------------------------


def test_scheduled_then_implemented() -> None:
    state = change_state(
        [
            scheduled("C", t(6, 1), t(6, 14, 16), t(6, 14, 20), title="Byte av coreswitchar"),
            scheduled("C", t(6, 5), t(6, 14, 17), t(6, 14, 21)),  # rescheduled: the later plan wins
            implemented("C", t(6, 14, 19, 40)),
        ]
    )
    assert state == ChangeState(
        change_id="C",
        service="network",
        implemented_at=t(6, 14, 19, 40),
        emergency=False,
        exception_approved_by=None,
        planned_start=t(6, 14, 17),
        planned_end=t(6, 14, 21),
        title=None,
    )


def test_only_scheduled_is_not_implemented() -> None:
    local = datetime(2022, 8, 22, 18, tzinfo=STOCKHOLM)
    state = change_state(
        [scheduled("C", t(6, 1), local, local + timedelta(hours=4), emergency=True)]
    )
    assert state.implemented_at is None
    assert state.emergency is True
    assert state.planned_start == t(8, 22, 16)  # in UTC
    assert state.planned_start is not None and state.planned_start.utcoffset() == timedelta(0)


def test_the_earliest_implementation_counts_with_its_own_approver() -> None:
    # Sending the event again with an approver does not approve it after the fact.
    state = change_state(
        [
            implemented("C", t(7, 5, 11), emergency=True, exception_approved_by="IT-chef"),
            implemented("C", t(7, 5, 10), emergency=True),
        ]
    )
    assert (state.implemented_at, state.exception_approved_by) == (t(7, 5, 10), None)
    assert (state.planned_start, state.planned_end, state.title) == (None, None, None)


def test_change_state_refuses_no_events_and_mixed_changes() -> None:
    with pytest.raises(ValueError, match="at least one event"):
        change_state([])
    with pytest.raises(ValueError, match="several changes"):
        change_state([implemented("A", t(7, 1)), implemented("B", t(7, 1))])


# --- freeze state --------------------------------------------------------------------------


def test_declared_freeze() -> None:
    start = datetime(2022, 6, 24, tzinfo=STOCKHOLM)  # midsummer eve, 22:00 UTC the day before
    state = freeze_state([declared("F", t(6, 20), start, t(8, 15), ["*"], reason="Semester")])
    assert state == FreezeState(
        freeze_id="F",
        starts_at=t(6, 23, 22),
        ends_at=t(8, 15),
        lifted_at=None,
        scope=("*",),
        reason="Semester",
    )
    assert state.effective_end == t(8, 15)
    assert not state.active_at(t(6, 23, 21, 59))
    assert state.active_at(t(6, 23, 22))
    assert state.active_at(datetime(2022, 8, 14, 23, 59, tzinfo=UTC))
    assert not state.active_at(t(8, 15))  # the end is exclusive


def test_scope_star_covers_every_service() -> None:
    everything = freeze(["*"], t(7, 1), t(8, 1))
    assert everything.covers("network") and everything.covers("anything-not-in-the-catalog")
    some = freeze(["processmotor", "network"], t(7, 1), t(8, 1))
    assert some.covers("network") and not some.covers("m365")


def test_lifted_freeze_ends_at_the_lift() -> None:
    f = freeze(["network"], t(7, 1), t(7, 31), t(7, 12), t(7, 10, 12))  # the earliest lift counts
    assert (f.lifted_at, f.effective_end) == (t(7, 10, 12), t(7, 10, 12))
    assert violation(done("A", t(7, 10, 11, 59), "network"), [f]) is f
    assert violation(done("B", t(7, 10, 12), "network"), [f]) is None


def test_lift_before_the_start_cancels_it() -> None:
    f = freeze(["*"], t(7, 1), t(7, 31), t(6, 29))
    assert f.effective_end == f.starts_at
    assert not f.active_at(t(7, 1))


def test_lift_after_the_end_changes_nothing() -> None:
    f = freeze(["*"], t(7, 1), t(7, 31), t(8, 2))
    assert (f.lifted_at, f.effective_end) == (t(8, 2), t(7, 31))


def test_latest_declaration_wins_and_older_lifts_do_not_touch_it() -> None:
    state = freeze_state(
        [
            declared("F", t(6, 1), t(6, 10), t(6, 20), ["network"]),
            lifted("F", t(6, 12)),  # ended the first declaration
            declared("F", t(6, 15), t(7, 1), t(8, 1), ["*"]),  # a new window, declared after
        ]
    )
    assert state is not None
    assert (state.starts_at, state.ends_at, state.lifted_at, state.scope) == (
        t(7, 1),
        t(8, 1),
        None,
        ("*",),
    )


def test_no_declaration_yet() -> None:
    assert freeze_state([lifted("F", t(7, 1))]) is None
    with pytest.raises(ValueError, match="several freezes"):
        freeze_state([lifted("F", t(7, 1)), lifted("G", t(7, 1))])


# --- violations and figures ------------------------------------------------------------------

FREEZE = freeze(["processmotor", "network"], t(7, 1), t(7, 31))
C1 = done("C1", t(7, 5, 10), "processmotor")  # inside, ordinary: violation
C2 = done("C2", t(7, 6), "network", emergency=True, exception_approved_by="IT-chef")  # exception
C3 = done("C3", t(7, 7), "network", emergency=True)  # emergency without approver: violation
C4 = done("C4", t(6, 28), "processmotor")  # before the freeze
C5 = done("C5", t(7, 8), "m365")  # not in scope
C6 = change_state([scheduled("C6", t(7, 1), t(7, 9), t(7, 9, 2))])  # never implemented
C7 = done("C7", t(7, 9), "network", exception_approved_by="IT-chef")  # approver, not emergency
CHANGES = [C1, C2, C3, C4, C5, C6, C7]
I1 = incident("I1", "processmotor", t(7, 5, 11), planned_work="C1")  # during, from planned work
I2 = incident("I2", "m365", t(7, 8, 9))  # not covered by the freeze
I3 = incident("I3", "network", t(6, 28, 1), planned_work="C4")  # before the freeze
I4 = incident("I4", "network", t(8, 2))  # after both periods
INCIDENTS = [I1, I2, I3, I4]


def test_violations_one_by_one() -> None:
    assert violation(C1, [FREEZE]) is FREEZE
    assert violation(C2, [FREEZE]) is None
    assert violation(C3, [FREEZE]) is FREEZE
    assert violation(C4, [FREEZE]) is None
    assert violation(C5, [FREEZE]) is None
    assert violation(C6, [FREEZE]) is None
    assert violation(C7, [FREEZE]) is FREEZE
    assert violation(C1, []) is None


def test_of_two_freezes_the_earliest_to_start_is_named() -> None:
    later = freeze(["*"], t(7, 3), t(7, 20), fid="G")
    assert violation(C1, [later, FREEZE]) is FREEZE


def test_figures_for_july() -> None:
    # implemented in July: C1 C2 C3 C5 C7; violations C1 C3 C7; exception C2;
    # incidents opened in July: I1 (in the freeze, from planned work), I2 (not covered).
    assert change_figures(CHANGES, [FREEZE], INCIDENTS, t(7, 1), t(8, 1)) == {
        "implemented": 5,
        "violations": 3,
        "emergency_exceptions": 1,
        "incidents_during_freeze": 1,
        "incidents_from_planned_work": 1,
    }


def test_figures_for_summer_add_june() -> None:
    # C4 and I3 (from planned work C4, before the freeze) join.
    assert change_figures(CHANGES, [FREEZE], INCIDENTS, t(6, 1), t(8, 1)) == {
        "implemented": 6,
        "violations": 3,
        "emergency_exceptions": 1,
        "incidents_during_freeze": 1,
        "incidents_from_planned_work": 2,
    }


def test_figures_with_a_lifted_star_freeze() -> None:
    # "*" from July 1, lifted July 6 12:00: only C1 (July 5) is inside, and I1.
    f = freeze(["*"], t(7, 1), t(7, 31), t(7, 6, 12))
    figures = change_figures(CHANGES, [f], INCIDENTS, t(7, 1), t(8, 1))
    assert (figures["violations"], figures["emergency_exceptions"]) == (1, 1)
    assert figures["incidents_during_freeze"] == 1
    assert change_figures([], [], [], t(7, 1), t(8, 1))["implemented"] == 0


# --- order independence ----------------------------------------------------------------------

T0 = t(7, 1)
minutes = st.integers(0, 60).map(lambda m: T0 + timedelta(minutes=m))


@st.composite
def change_events(draw: st.DrawFn) -> list[Any]:
    out = []
    for i in range(draw(st.integers(1, 8))):
        at = draw(minutes)
        if draw(st.booleans()):
            start = draw(minutes)
            out.append(
                event(
                    "change.scheduled",
                    at,
                    {
                        "change_id": "C",
                        "service": "network",
                        "planned_start": start.isoformat(),
                        "planned_end": (start + timedelta(hours=1)).isoformat(),
                    },
                    f"e{i}",
                )
            )
        else:
            approver = draw(st.sampled_from([None, "IT-chef"]))
            out.append(
                event(
                    "change.implemented",
                    at,
                    {
                        "change_id": "C",
                        "service": "network",
                        "emergency": draw(st.booleans()),
                        "exception_approved_by": approver,
                    },
                    f"e{i}",
                )
            )
    return out


@st.composite
def freeze_events(draw: st.DrawFn) -> list[Any]:
    out = []
    for i in range(draw(st.integers(1, 8))):
        at = draw(minutes)
        if draw(st.booleans()):
            start = draw(minutes)
            scope = draw(st.sampled_from([["*"], ["network"], ["m365", "mdm"]]))
            out.append(
                event(
                    "freeze.declared",
                    at,
                    {
                        "freeze_id": "F",
                        "starts_at": start.isoformat(),
                        "ends_at": (start + timedelta(minutes=30)).isoformat(),
                        "scope": scope,
                    },
                    f"e{i}",
                )
            )
        else:
            out.append(event("freeze.lifted", at, {"freeze_id": "F"}, f"e{i}"))
    return out


@settings(max_examples=200, deadline=None)
@given(change_events(), freeze_events(), st.randoms(use_true_random=False), st.data())
def test_state_is_a_function_of_the_set(
    changes: list[Any], freezes: list[Any], rnd: Any, data: st.DataObject
) -> None:
    for events, fold in ((changes, change_state), (freezes, freeze_state)):
        shuffled = list(events) + data.draw(st.lists(st.sampled_from(events), max_size=4))
        rnd.shuffle(shuffled)
        assert fold(shuffled) == fold(events)
