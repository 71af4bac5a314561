"""Tests for services.core.staffing_plan: a week's plan from hourly buckets, by hand.

Erlang C figures worked by hand for 1 erlang (10 calls in a half hour, 180 s each),
80 % within 20 s, with the Erlang B recursion B(n) = A B(n-1) / (n + A B(n-1)):
  n = 2: B = 1/5, C = 2 B / (2 - A (1 - B)) = 0.4 / 1.2 = 1/3,
         SL = 1 - C exp(-(2 - 1) 20/180) = 1 - 0.29828 = 0.70172  (< 0.80)
  n = 3: B = 0.2 / 3.2 = 0.0625, C = 0.1875 / 2.0625 = 0.090909,
         SL = 1 - 0.090909 exp(-2 * 20/180) = 1 - 0.072795 = 0.927205, occupancy 1/3
  scheduled at 30 % shrinkage: ceil(3 / 0.7) = 5.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.core.calendar import BusinessCalendar
from services.core.calls import CallBucket
from services.core.staffing_plan import (
    StaffingConfig,
    history_span,
    is_bridge_day,
    parse_config,
    period_staffing,
    plan_week,
)

CAL = BusinessCalendar()
CFG = StaffingConfig()
TZ = ZoneInfo("Europe/Stockholm")


def hour(day: date, local_hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, local_hour, tzinfo=TZ).timestamp())


def test_same_weeks_of_earlier_years_with_talk_times_and_patience() -> None:
    # 2022-W36, Monday 5 September, 09-10 local: 20 calls, 2 abandoned, 100 s waited
    # in all, 20 talk times of 180 s. No other week of 2019-2022 holds data.
    monday = date(2022, 9, 5)
    hourly = {
        hour(monday, 9): CallBucket(
            offered=20,
            answered=18,
            abandoned=2,
            wait_offered_ms=100_000,
            talked=20,
            talk_ms=20 * 180_000,
        )
    }
    plan = plan_week(2023, 36, hourly, CAL, CFG, target=0.8, within=20)
    assert plan["basis"] == {"kind": "same_weeks", "weeks": ["2022-W36"]}
    assert (plan["aht_seconds"], plan["aht_source"]) == (180.0, "talk times")
    assert plan["patience_seconds"] == 50.0  # 100 s waited / 2 abandoned
    mon = plan["days"][0]
    assert (mon["date"], mon["weekday"], mon["open"]) == ("2023-09-04", "Mon", True)
    assert len(mon["intervals"]) == 18  # 08:00-17:00 in half hours
    busy = {iv["start"]: iv for iv in mon["intervals"] if iv["calls"]}
    assert list(busy) == ["2023-09-04T09:00:00+02:00", "2023-09-04T09:30:00+02:00"]
    for iv in busy.values():
        assert iv["calls"] == 10.0  # the hour's 20 calls split evenly
        c = iv["erlang_c"]
        assert c["agents"] == 3
        assert c["service_level"] == pytest.approx(0.927205, abs=1e-6)
        assert c["occupancy"] == pytest.approx(1 / 3)
        assert iv["scheduled"] == 5
        a = iv["erlang_a"]
        assert a["agents"] <= 3 and a["service_level"] >= 0.8
    quiet = [iv for iv in mon["intervals"] if not iv["calls"]]
    assert all(iv["erlang_c"] is None and iv["scheduled"] == 0 for iv in quiet)
    assert mon["agent_hours"]["erlang_c"] == 3.0  # 3 agents for two half hours
    assert plan["agent_hours"]["scheduled"] == 5.0
    assert [d["calls"] for d in plan["days"][1:]] == [0.0] * 6
    assert [d["open"] for d in plan["days"]] == [True] * 5 + [False] * 2


def test_trailing_weeks_holidays_and_a_bridge_day() -> None:
    # 2022-W21: Ascension Thursday 26 May is closed, Friday 27 May a bridge day.
    # No earlier years: the 6 weeks before (W15-W20) are the basis. Their Fridays
    # 10-11 local: 12 calls each, except Good Friday (15 April, closed: left out,
    # however many calls it shows).
    fridays = [date(2022, 4, 22), date(2022, 4, 29), date(2022, 5, 6), date(2022, 5, 13),
               date(2022, 5, 20)]  # fmt: skip
    hourly = {hour(d, 10): CallBucket(offered=12, answered=12) for d in fridays}
    hourly[hour(date(2022, 4, 15), 10)] = CallBucket(offered=100, answered=100)
    plan = plan_week(2022, 21, hourly, CAL, CFG)
    assert plan["basis"] == {
        "kind": "trailing_weeks",
        "weeks": ["2022-W15", "2022-W16", "2022-W17", "2022-W18", "2022-W19", "2022-W20"],
    }
    assert (plan["aht_seconds"], plan["aht_source"]) == (300.0, "configured")
    assert plan["patience_seconds"] is None  # no abandons: no estimate, no Erlang A
    thu, fri = plan["days"][3], plan["days"][4]
    assert (thu["open"], thu["intervals"]) == (False, [])
    assert fri["bridge_day"] is True
    # 12 calls a Friday hour, 0.6 of it on a bridge day, half of that per half hour
    busy = [iv for iv in fri["intervals"] if iv["calls"]]
    assert [iv["calls"] for iv in busy] == pytest.approx([3.6, 3.6])
    assert all(iv["erlang_a"] is None and iv["erlang_c"]["agents"] >= 1 for iv in busy)


def test_no_history_is_an_empty_plan() -> None:
    plan = plan_week(2022, 36, {}, CAL, CFG)
    assert plan["basis"] == {"kind": "none", "weeks": []}
    assert plan["agent_hours"] == {"erlang_c": 0.0, "erlang_a": 0.0, "scheduled": 0.0}


def test_bridge_days() -> None:
    assert is_bridge_day(date(2022, 5, 27), CAL)  # Friday after Ascension
    assert not is_bridge_day(date(2022, 5, 25), CAL)  # Wednesday before it
    assert not is_bridge_day(date(2022, 5, 26), CAL)  # Ascension itself: closed


def test_history_span_covers_the_earlier_years_and_trailing_weeks() -> None:
    start, end = history_span(2022, 36, CFG, CAL)
    # 2019-W35 begins Monday 26 August 2019; the week begins Monday 5 September 2022.
    assert start == datetime(2019, 8, 25, 22, tzinfo=UTC)
    assert end == datetime(2022, 9, 4, 22, tzinfo=UTC)


def test_config_errors_name_the_setting() -> None:
    assert parse_config(None) == StaffingConfig()
    assert parse_config({"shrinkage": 0.25}).shrinkage == 0.25
    with pytest.raises(ValueError, match=r"staffing\.shrinkage"):
        parse_config({"shrinkage": 1.5})
    with pytest.raises(ValueError, match="unknown setting"):
        parse_config({"shrinkag": 0.3})
    with pytest.raises(ValueError, match=r"staffing\.target"):
        parse_config({"target": "70 %"})


def _at(local: datetime) -> int:
    return int(local.replace(tzinfo=ZoneInfo("Europe/Stockholm")).timestamp())


def test_period_staffing_by_hand() -> None:
    """Two weeks, open Mondays 08-09: 20 calls in the 08 hour each Monday is 10 calls a
    half hour in the average week, 180 s each: 3 agents (the docstring's hand-worked n = 3)
    in each of the two open half hours, so 2 x 3 x 0.5 h = 3 agent-hours a week. Talk
    time: 40 calls x 180 s plus a Saturday's 2 calls (closed: no one needed, but talked)
    x 180 s = 7,560 s = 2.1 h in two weeks, 1.05 h a week."""
    cal = BusinessCalendar(opens=time(8), closes=time(9), workdays=frozenset({0}))

    def bucket(n: int) -> CallBucket:
        return CallBucket(offered=n, answered=n, talked=n, talk_ms=n * 180_000)

    hourly = {
        _at(datetime(2022, 3, 7, 8)): bucket(20),
        _at(datetime(2022, 3, 14, 8)): bucket(20),
        _at(datetime(2022, 3, 12, 10)): bucket(2),
    }
    found = period_staffing(hourly, 2.0, cal, target=0.80, within=20)
    assert found is not None
    assert found.needed_hours == 3.0
    assert found.talk_hours == pytest.approx(1.05)


def test_period_staffing_is_absent_without_calls_or_talk_time() -> None:
    monday = _at(datetime(2022, 3, 7, 8))
    assert period_staffing({}, 1.0, CAL, 0.8, 20) is None
    assert period_staffing({monday: CallBucket(offered=5, abandoned=5)}, 1.0, CAL, 0.8, 20) is None
    with pytest.raises(ValueError, match="weeks"):
        period_staffing({}, 0.0, CAL, 0.8, 20)
