"""The simulated scenario `syd-it-2022`: deterministic, valid, private, and close to the seed.

The seed (the interim report of 31 July 2022) gives service level 1 at 78 % and a mean
handling time of 25 hours for January-July; the figures here are computed from the
generated events with opstrack's own core functions, as the stack would compute them.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from services.client import ClientError
from services.commands.simulate import simulate
from services.config import catalog
from services.core.calendar import BusinessCalendar
from services.core.calls import CallRules, fold_calls, total
from services.core.changes import change_state, freeze_state, violation
from services.core.events import Event, parse_event
from services.core.incidents import incident_state, service_downtime
from services.core.indicators import latest_values
from services.core.periods import STOCKHOLM, parse_period
from services.core.sli import call_figures
from services.core.tickets import ticket_state
from services.simulate import SCENARIOS
from services.simulate.pacing import BATCH, in_real_time, paced
from services.simulate.storyline import story
from services.simulate.syd_it_2022 import generate

CAL = BusinessCalendar()
CONFIG = Path(__file__).resolve().parents[2] / "config"
MARCH = (date(2022, 3, 1), date(2022, 3, 31))
HALF_YEAR = parse_period("2022-01-01..2022-07-31")
CATEGORIES = {"Behörighet", "Klient", "E-tjänst", "Telefoni", "Nätverk", "Övrigt"}


@pytest.fixture(scope="module")
def march() -> list[dict[str, Any]]:
    return list(generate(*MARCH, seed=2022))


@pytest.fixture(scope="module")
def half_year() -> list[Event]:
    """January-July 2022, the interim report's period (~2 s).

    `call.queued` is left out: every figure counts a call at its end, which also
    says when it entered (time - wait); test_calls_enter_when_queued checks that.
    """
    raw = generate(date(2022, 1, 1), date(2022, 7, 31), 2022)
    return [parse_event(e) for e in raw if e["type"] != "call.queued"]


def of(events: list[Event], prefix: str) -> list[Any]:
    return [e for e in events if e.type.startswith(prefix)]


def by_entity(events: list[Any], field: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = defaultdict(list)
    for e in events:
        out[getattr(e.data, field)].append(e)
    return out


def test_same_seed_same_events_other_seed_other_events(march: list[dict[str, Any]]) -> None:
    assert list(generate(*MARCH, seed=2022)) == march
    other = list(generate(*MARCH, seed=2023))
    assert other != march
    assert not {e["id"] for e in other} & {e["id"] for e in march}


def test_a_shorter_window_is_a_slice_of_a_longer_one(march: list[dict[str, Any]]) -> None:
    # Each day has a generator of its own, so a window does not change what happens in it.
    week = list(generate(date(2022, 3, 7), date(2022, 3, 13), seed=2022))
    assert week
    ids = {e["id"]: e for e in march}
    assert all(ids[e["id"]] == e for e in week)


def test_every_event_is_valid_unique_and_in_time_order(march: list[dict[str, Any]]) -> None:
    parsed = [parse_event(e) for e in march]
    times = [e.time for e in parsed]
    assert times == sorted(times)
    start, end = parse_period("2022-03").start, parse_period("2022-03").end
    assert start <= times[0] and times[-1] < end
    assert len({e.id for e in parsed}) == len(parsed)
    kinds: Counter[str] = Counter(e.type for e in parsed)
    for kind in ("call.queued", "call.answered", "call.abandoned", "call.exited"):
        assert kinds[kind] > 0, kind
    for kind in ("ticket.created", "ticket.paused", "ticket.resumed", "ticket.resolved"):
        assert kinds[kind] > 0, kind
    assert kinds["ticket.reopened"] > 0 and kinds["ticket.closed"] > 0


def plan_events() -> list[Event]:
    """The year's changes, incidents and freeze."""
    return [parse_event(e) for _, e in story(2022).events]


PHONE = re.compile(r"(\+46|\b07\d)[\d -]{6,}")


def test_no_caller_numbers_or_names(march: list[dict[str, Any]]) -> None:
    # Contracts refuse unknown data fields; here: only the contract's fields are used,
    # and nothing anywhere looks like a phone number.
    allowed = {"call_id", "queue", "municipality", "wait_seconds", "reason", "talk_seconds"}
    for e in march:
        if e["type"].startswith("call."):
            assert set(e["data"]) <= allowed, e
            assert e["data"]["call_id"].startswith("CALL-s2022-"), e
        if e["type"].startswith("ticket."):
            assert set(e["data"]) == {"ticket_id", "category", "priority", "municipality"}, e
    plan = plan_events()
    assert not PHONE.search(json.dumps(march, ensure_ascii=False))
    assert not PHONE.search(json.dumps([e.model_dump(mode="json") for e in plan]))
    approvers = {
        e.data.exception_approved_by
        for e in of(plan, "change.implemented")
        if e.data.exception_approved_by
    }
    assert approvers == {"förvaltningschef"}  # a role, never a person


def entered(call: Any) -> datetime:
    """When a call entered its queue, from the event that ended its stay (or its talk)."""
    talk = getattr(call.data, "talk_seconds", 0)
    t: datetime = call.time - timedelta(seconds=call.data.wait_seconds + talk)
    return t


def test_answered_calls_report_their_talk_times(half_year: list[Event]) -> None:
    answered = {e.data.call_id for e in of(half_year, "call.answered")}
    completed = of(half_year, "call.completed")
    # Every answered call ends its conversation (those still talking at the end of
    # the window excepted), and only answered calls do.
    assert {e.data.call_id for e in completed} <= answered
    assert len(completed) >= len(answered) - 5
    talks = sorted(e.data.talk_seconds for e in completed)
    assert 200 <= talks[len(talks) // 2] <= 280  # median about 4 minutes
    assert 250 <= sum(talks) / len(talks) <= 350  # mean about 5


def test_calls_enter_when_queued(march: list[dict[str, Any]]) -> None:
    calls = of([parse_event(e) for e in march], "call.")
    queued = {e.data.call_id: e.time for e in calls if e.type == "call.queued"}
    ended = {e.data.call_id: entered(e) for e in calls if e.type not in ENTRY_ONLY}
    talked = {e.data.call_id: entered(e) for e in calls if e.type == "call.completed"}
    assert queued == ended
    assert talked.items() <= queued.items()


ENTRY_ONLY = ("call.queued", "call.completed")


def test_calls_and_tickets_only_in_office_hours(half_year: list[Event]) -> None:
    entered_at = [entered(e) for e in of(half_year, "call.")]
    assert all(CAL.is_open(t) for t in entered_at)
    created = [e.time for e in of(half_year, "ticket.created")]
    assert all(CAL.is_open(t) for t in created)
    days = {t.astimezone(STOCKHOLM).date() for t in entered_at + created}
    holidays = {date(2022, 1, 6), date(2022, 4, 15), date(2022, 4, 18), date(2022, 5, 26),
                date(2022, 6, 6), date(2022, 6, 24)}  # fmt: skip
    assert not days & holidays
    assert all(d.weekday() < 5 for d in days)


def test_daily_volumes_are_realistic(half_year: list[Event]) -> None:
    calls = [e for e in of(half_year, "call.") if e.type != "call.completed"]
    per_day = Counter(entered(e).astimezone(STOCKHOLM).date() for e in calls)
    mean = sum(per_day.values()) / len(per_day)
    assert 150 <= mean <= 250

    def weekday_mean(wd: int, months: range = range(1, 7)) -> float:
        n = [v for d, v in per_day.items() if d.weekday() == wd and d.month in months]
        return sum(n) / len(n)

    assert weekday_mean(0) > weekday_mean(2) > weekday_mean(4)  # Mondays busy, Fridays quiet
    july = [v for d, v in per_day.items() if d.month == 7]
    assert sum(july) / len(july) < 0.7 * mean


def test_service_level_lands_near_the_report(half_year: list[Event]) -> None:
    buckets = fold_calls(of(half_year, "call."), CallRules())
    lo, hi = HALF_YEAR.start_epoch(), HALF_YEAR.end_epoch()
    fig = call_figures(total(b for k, b in buckets.items() if lo <= k.hour < hi), (20, 60))
    assert 0.75 <= fig["service_level"]["20"] <= 0.81, fig  # the seed: 78 %
    assert 0.87 <= fig["service_level"]["60"] <= 0.93, fig
    assert fig["short_abandoned"] > 0 and fig["exited"] > 0
    assert 0.01 <= fig["abandon_rate"] <= 0.08


def test_handling_time_lands_near_the_report(half_year: list[Event]) -> None:
    states = [
        ticket_state(evs) for evs in by_entity(of(half_year, "ticket."), "ticket_id").values()
    ]
    done = [s for s in states if s.resolved_at is not None and s.resolved_at < HALF_YEAR.end]
    hours = [s.handling_hours for s in done if s.handling_hours is not None]
    assert 22 <= sum(hours) / len(hours) <= 28  # the seed: 25 hours
    assert {s.category for s in states} == CATEGORIES
    priorities = Counter(s.priority for s in states)
    assert priorities.most_common(1)[0][0] == 3 and priorities[3] > 0.7 * len(states)
    assert sum(1 for s in states if s.pauses) > 0.05 * len(states)
    assert 0 < sum(1 for s in states if s.reopened) < 0.1 * len(states)


def test_the_freeze_since_midsummer_and_its_one_violation(half_year: list[Event]) -> None:
    [freeze] = [
        freeze_state(evs) for evs in by_entity(of(half_year, "freeze."), "freeze_id").values()
    ]
    assert freeze is not None and freeze.scope == ("*",)
    assert freeze.starts_at == datetime(2022, 6, 24, tzinfo=STOCKHOLM)
    assert freeze.ends_at == datetime(2022, 8, 15, tzinfo=STOCKHOLM)
    changes = [
        change_state(evs) for evs in by_entity(of(half_year, "change."), "change_id").values()
    ]
    [broken] = [c for c in changes if violation(c, [freeze]) is not None]
    assert broken.service == "m365" and not broken.emergency
    inside = [c for c in changes if c.implemented_at and freeze.active_at(c.implemented_at)]
    [exception] = [c for c in inside if c is not broken]
    assert exception.emergency and exception.exception_approved_by is not None
    services = {c.service for c in changes}
    assert {"network", "mdm", "m365"} <= services


def test_incidents_follow_the_report(half_year: list[Event]) -> None:
    states = [
        incident_state(evs) for evs in by_entity(of(half_year, "incident."), "incident_id").values()
    ]
    assert all(s.acknowledged_at and s.resolved_at for s in states)
    assert sum(1 for s in states if s.service == "processmotor") >= 3
    changes = {
        c.change_id: c
        for c in (
            change_state(evs) for evs in by_entity(of(half_year, "change."), "change_id").values()
        )
    }
    network = [s for s in states if s.service == "network"]
    assert len(network) >= 2
    for s in network:  # caused by replacing the core switches in spring
        work = changes[s.planned_work or ""]
        assert work.service == "network" and work.implemented_at is not None
        assert work.implemented_at < s.opened_at if s.opened_at else False
        assert 3 <= work.implemented_at.astimezone(STOCKHOLM).month <= 5
    # The e-services are down whenever the process engine is, through the catalog.
    down = service_downtime(states, catalog(CONFIG), HALF_YEAR.start, HALF_YEAR.end, HALF_YEAR.end)
    for service in ("e-tjanst-ansokan", "ekonomiskt-bistand"):
        assert down[service].own_seconds == 0 and "processmotor" in down[service].via
        assert down[service].inherited_seconds >= down["processmotor"].own_seconds > 0


def test_indicators_as_of_31_july_are_the_report_s(half_year: list[Event]) -> None:
    july = {
        v.indicator: v
        for v in latest_values(of(half_year, "indicator."))
        if v.as_of == date(2022, 7, 31)
    }
    expected = {  # indicator: (nuvärde, prognos)
        "sjukfranvaro": (0.0729, 0.07),
        "hme": (71, 71),
        "budget": (-1412, -1000),
        "forvaltningsplaner": (9, 9),
        "digitala-moten": (0.01, 0.01),
        "miljodiplomering": (True, True),
        "arendehanteringstid": (25, 20),
        "serviceniva": (0.78, 0.70),
    }
    assert {k: (v.value, v.forecast) for k, v in july.items()} == expected
    budget = [
        v.value for v in latest_values(of(half_year, "indicator.")) if v.indicator == "budget"
    ]
    assert len(budget) == 7 and budget == sorted(budget, reverse=True)  # drifting down to July


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def at(minutes: float) -> dict[str, Any]:
    t = datetime(2022, 3, 1, 8, tzinfo=UTC) + timedelta(minutes=minutes)
    return {"id": str(minutes), "time": t.isoformat()}


def test_speed_replays_in_scaled_time_with_bounded_waits() -> None:
    clock = FakeClock()
    events = [at(0), at(0), at(1), at(61), at(3000)]
    batches = list(paced(events, 60.0, max_wait=5.0, clock=clock, sleep=clock.sleep))
    # 1 simulated minute at 60x is 1 s; 60 minutes would be 60 s but waits stop at 5 s.
    assert clock.sleeps == [1.0, 5.0, 5.0]
    assert [[e["id"] for e in b] for b in batches] == [["0", "0"], ["1"], ["61"], ["3000"]]


START = datetime(2022, 3, 1, 8, tzinfo=UTC).timestamp()  # what at(0) says


class WallClock(FakeClock):
    """A wall clock standing at `minutes` after at(0); `wait` may be told to stop after n waits."""

    def __init__(self, minutes: float, stop_after: int | None = None) -> None:
        super().__init__()
        self.now = START + 60 * minutes
        self.stop_after = stop_after
        self.caught_up_at: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.sleep(seconds)
        return self.stop_after is not None and len(self.sleeps) >= self.stop_after

    def caught_up(self) -> None:
        self.caught_up_at.append(self.now)


def test_real_time_sends_the_past_at_once_then_each_event_when_its_time_comes() -> None:
    clock = WallClock(minutes=2)
    # Two minutes past at(0): at(0), at(1) and at(2) are the past, sent together at once;
    # at(2.5) comes 30 s later, at(10) 7.5 minutes after that, at(10) again with it.
    events = [at(0), at(1), at(2), at(2.5), at(10), at(10)]
    batches = list(in_real_time(events, clock, clock.wait, clock.caught_up))
    assert [[e["id"] for e in b] for b in batches] == [["0", "1", "2"], ["2.5"], ["10", "10"]]
    assert clock.sleeps == [30.0, 450.0]
    assert clock.caught_up_at == [START + 120]  # once, when the first event lay ahead


def test_real_time_backfill_goes_out_in_full_batches() -> None:
    clock = WallClock(minutes=60 * 24)
    events = [at(i / 1000) for i in range(BATCH * 2 + 1)]
    sizes = [len(b) for b in in_real_time(events, clock, clock.wait, clock.caught_up)]
    assert sizes == [BATCH, BATCH, 1]
    assert clock.sleeps == [] and clock.caught_up_at == []  # never had to wait


def test_real_time_ends_when_the_wait_says_stop() -> None:
    clock = WallClock(minutes=0, stop_after=1)
    batches = list(in_real_time([at(0), at(60), at(120)], clock, clock.wait))
    # Stopped during the hour before at(60): what was due went out, nothing after.
    assert [[e["id"] for e in b] for b in batches] == [["0"]]
    assert clock.sleeps == [3600.0]


def test_another_year_replays_the_plan_on_its_dates_with_ids_of_its_own() -> None:
    # 28 June 2026: the process engine fails as it did on 28 June 2022 (PM_DOWN).
    day = date(2026, 6, 28)
    events = list(generate(day, day, seed=2022))
    opened = [e for e in events if e["type"] == "incident.opened"]
    assert [e["data"]["service"] for e in opened] == ["processmotor"]
    assert opened[0]["time"].startswith("2026-06-28T09:")
    same_day_2022 = {e["id"] for e in generate(date(2022, 6, 28), date(2022, 6, 28), seed=2022)}
    assert not same_day_2022 & {e["id"] for e in events}  # no 2026 event taken for a repeat
    # The controller's indicator values are entered for 2026 too, on its months' last days.
    june_end = list(generate(date(2026, 6, 30), date(2026, 6, 30), seed=2022))
    as_of = {e["data"]["as_of"] for e in june_end if e["type"] == "indicator.measured"}
    assert as_of == {"2026-06-30"}


def test_the_command_registers_and_refuses_unknown_scenarios() -> None:
    app = typer.Typer()
    app.command()(simulate)
    app.command("other")(lambda: None)  # a second command keeps `simulate` a sub-command
    result = CliRunner().invoke(app, ["simulate", "syd-it-2021"])
    assert isinstance(result.exception, ClientError)
    assert str(result.exception) == (
        f"unknown scenario 'syd-it-2021': known scenarios are {', '.join(SCENARIOS)}"
    )
    with pytest.raises(ClientError, match="either --fast or --speed"):
        simulate(fast=True, speed=10.0)
    with pytest.raises(ClientError, match="before"):
        simulate(from_=date(2022, 2, 1), to=date(2022, 1, 31))
