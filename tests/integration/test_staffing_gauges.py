"""The staffing gauges the lease holder exports for the current and next ISO week.

Real SQLite and PostgreSQL (the `engine` fixture). The calls are applied as the
worker applies them; the expected calls of a slot are worked out by hand from the
calls written here, and the agents they need are services.core.staffing's answer
for that hand-worked load (the model itself is tested against the textbook in
tests/unit).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine

from services.core.calendar import BusinessCalendar
from services.core.calls import CallRules
from services.core.staffing import (
    patience_estimate,
    required_agents_a,
    required_agents_c,
    with_shrinkage,
)
from services.core.staffing_plan import StaffingConfig
from services.observability import processor_metrics as m
from services.processor import period_metrics, staffing_metrics
from services.processor.calls import apply_batch
from tests.builders import call_data, encoded, envelope

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Europe/Stockholm")
CAL = BusinessCalendar()
CFG = StaffingConfig()  # 70 % within 20 s, 30 % shrinkage, 6 trailing weeks
# Sunday 6 December 2026, 11:00 in Stockholm: the current week is 2026-W49
# (30 Nov - 6 Dec), the next 2026-W50 (7 - 13 Dec).
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
_n = 0


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def call(kind: str, ended: datetime, wait: float, talk: float | None = None) -> bytes:
    global _n
    _n += 1
    queue = "support" if _n % 2 else "vaxel"  # two queues: the gauges pool them
    data = call_data(f"c{_n}", queue, "Askersund", wait=wait, talk=talk)
    return encoded(envelope(kind, data, id=f"call-{uuid.uuid4().hex}", source="/test", time=ended))


def answered(entered: str, wait: float = 10, talk: float = 240) -> list[bytes]:
    """A call entering the queue at `entered` (local), answered after `wait`, talked `talk` s."""
    start = local(entered)
    return [
        call("call.answered", start + timedelta(seconds=wait), wait),
        call("call.completed", start + timedelta(seconds=wait + talk), wait, talk),
    ]


# No history in 2023-2025, so both weeks are planned on the 6 weeks before them.
# Calls only on two Mondays, in the hour 09-10: Monday 19 October (W43) 3 calls, one
# abandoned after 30 s; Monday 9 November (W46) 5 calls. Weeks without a single call
# are taken for weeks without data and left out of the basis.
HISTORY = [
    *answered("2026-10-19 09:05"),
    *answered("2026-10-19 09:20"),
    call("call.abandoned", local("2026-10-19 09:40:30"), 30),
    *[e for minute in (1, 12, 24, 36, 48) for e in answered(f"2026-11-09 09:{minute:02d}")],
]
# W49: basis W43 and W46, two Mondays: (3 + 5) / 2 = 4 calls in the hour 09-10, split
# evenly into its half hours: 2 at 09:00 and 2 at 09:30. W50: basis W44-W49, of which
# only W46 has calls: 5 / 1 = 5 in the hour, 2.5 each half hour.
# Talk: every answered call talked 240 s. Patience: the waits of all offered calls,
# 7 * 10 + 30 = 100 s, over the 1 abandoned call (the censored estimate). W50's basis
# has no abandoned call, so no patience and no Erlang A figure.
AHT = 240.0
CURRENT_CALLS = 2.0
NEXT_CALLS = 2.5


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def refresh(engine: Engine, now: datetime = NOW) -> None:
    samples = staffing_metrics.staffing_samples(engine, CFG, CAL, now)
    period_metrics.publish(m.STAFFING_GAUGES, samples)


def test_the_weeks_are_iso_weeks_in_stockholm() -> None:
    # Sunday 23:30 UTC is already Monday in Stockholm: the next week is current there.
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert staffing_metrics.plan_weeks(late, CAL) == {"current": (2026, 50), "next": (2026, 51)}
    # Across the new year: 28 Dec 2026 is in 2026-W53, 4 Jan 2027 in 2027-W01.
    assert staffing_metrics.plan_weeks(datetime(2026, 12, 30, 12, tzinfo=UTC), CAL) == {
        "current": (2026, 53),
        "next": (2027, 1),
    }


def test_gauges_hold_the_plan_of_the_current_and_next_week(engine: Engine) -> None:
    apply_batch(engine, CallRules(), HISTORY)
    refresh(engine)

    slot = {"weekday": "Mon", "slot": "09:00"}
    cur, nxt = {"week": "current"} | slot, {"week": "next"} | slot
    assert value("opstrack_staffing_expected_calls", **cur) == pytest.approx(CURRENT_CALLS)
    assert value("opstrack_staffing_expected_calls", **nxt) == pytest.approx(NEXT_CALLS)
    assert value(
        "opstrack_staffing_expected_calls", week="current", weekday="Mon", slot="09:30"
    ) == pytest.approx(CURRENT_CALLS)

    rate = CURRENT_CALLS / 1800
    c = required_agents_c(rate, AHT, 20, 0.70).agents
    patience = patience_estimate(100, 1)
    assert patience is not None
    a = required_agents_a(rate, AHT, 20, 0.70, patience).agents
    assert value("opstrack_staffing_required_agents", model="erlang_c", **cur) == c
    assert value("opstrack_staffing_required_agents", model="erlang_a", **cur) == a
    assert value("opstrack_staffing_scheduled_agents", **cur) == with_shrinkage(c, 0.30)
    next_c = required_agents_c(NEXT_CALLS / 1800, AHT, 20, 0.70).agents
    assert value("opstrack_staffing_required_agents", model="erlang_c", **nxt) == next_c
    # No abandoned call in next week's basis: Erlang A has no patience to go on.
    assert value("opstrack_staffing_required_agents", model="erlang_a", **nxt) is None

    # An open half hour nobody is expected to call: 0 expected, 0 required, 0 scheduled.
    quiet = {"week": "current", "weekday": "Tue", "slot": "10:00"}
    assert value("opstrack_staffing_expected_calls", **quiet) == 0
    assert value("opstrack_staffing_required_agents", model="erlang_c", **quiet) == 0
    assert value("opstrack_staffing_scheduled_agents", **quiet) == 0
    # Open half hours only: 08:00-16:30 on weekdays, nothing at 17:00 or at the weekend.
    assert (
        value("opstrack_staffing_expected_calls", week="current", weekday="Fri", slot="16:30") == 0
    )
    assert (
        value("opstrack_staffing_expected_calls", week="current", weekday="Fri", slot="17:00")
        is None
    )
    assert (
        value("opstrack_staffing_expected_calls", week="current", weekday="Sat", slot="09:00")
        is None
    )
    slots = {
        (s.labels["weekday"], s.labels["slot"])
        for metric in REGISTRY.collect()
        if metric.name == "opstrack_staffing_expected_calls"
        for s in metric.samples
        if s.labels["week"] == "current"
    }
    assert len(slots) == 5 * 18


def test_no_history_no_gauges_and_a_non_holder_clears_them(engine: Engine) -> None:
    apply_batch(engine, CallRules(), HISTORY)
    refresh(engine)
    assert value("opstrack_staffing_scheduled_agents", week="current", weekday="Mon", slot="09:00")
    # A worker that loses the lease exports none of them.
    period_metrics.clear_lease_held()
    assert (
        value("opstrack_staffing_scheduled_agents", week="current", weekday="Mon", slot="09:00")
        is None
    )
    # A year on, the 6 weeks before hold no call (and the same weeks of 2026 none
    # either): no basis, so no figure rather than a plan of zeros.
    refresh(engine, NOW + timedelta(weeks=60))
    names = {metric.name for metric in REGISTRY.collect() for _ in metric.samples}
    assert not {"opstrack_staffing_expected_calls", "opstrack_staffing_scheduled_agents"} & names
