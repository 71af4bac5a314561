"""Tests for services.core.roster: a roster against a plan, worked by hand.

The plan is test_staffing_plan's first (10 calls in each of Monday 4 September
2023's 09:00 and 09:30, 180 s each, 80 % within 20 s, 30 % shrinkage), where by
hand: 3 agents on the phones give Erlang C 0.927205 and 2 give 0.701720.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.core.calendar import BusinessCalendar
from services.core.calls import CallBucket
from services.core.roster import RosterError, apply_roster, parse_roster
from services.core.staffing_plan import StaffingConfig, plan_week

TZ = ZoneInfo("Europe/Stockholm")


def plan() -> dict[str, object]:
    nine = int(datetime(2022, 9, 5, 9, tzinfo=TZ).timestamp())
    bucket = CallBucket(offered=20, answered=18, abandoned=2, wait_offered_ms=100_000)
    bucket.talked, bucket.talk_ms = 20, 20 * 180_000
    return plan_week(2023, 36, {nine: bucket}, BusinessCalendar(), StaffingConfig(), target=0.8)


ROSTER = """date,start,agents
2023-09-04,08:00,2
2023-09-04,09:00,5
2023-09-04,09:30,3
2023-09-04,10:00,1
"""


def test_rostered_agents_and_the_service_level_they_give() -> None:
    got = apply_roster(plan(), parse_roster(ROSTER))
    mon = {iv["start"][11:16]: iv for iv in got["days"][0]["intervals"]}
    # 5 heads at 30 % shrinkage: 3.5 on the phones, 3 whole agents.
    assert (mon["09:00"]["rostered"], mon["09:00"]["rostered_on_phones"]) == (5, 3)
    assert mon["09:00"]["rostered_erlang_c"]["service_level"] == pytest.approx(0.927205, abs=1e-6)
    assert mon["09:00"]["rostered_erlang_c"]["occupancy"] == pytest.approx(1 / 3)
    # 3 heads: 2.1, so 2 on the phones.
    assert mon["09:30"]["rostered_on_phones"] == 2
    assert mon["09:30"]["rostered_erlang_c"]["service_level"] == pytest.approx(0.701720, abs=1e-6)
    # Erlang A: callers who hang up leave the others a shorter queue.
    a = mon["09:30"]["rostered_erlang_a"]["service_level"]
    assert a > mon["09:30"]["rostered_erlang_c"]["service_level"]
    # No calls expected: nothing to judge.
    assert mon["08:00"]["rostered_erlang_c"] is None
    assert mon["10:00"]["rostered_erlang_c"] is None
    assert mon["08:30"]["rostered"] is None
    assert got["rostered_hours"] == 5.5  # (2 + 5 + 3 + 1) / 2
    # 1 head: 0.7 on the phones, so none: no call is answered in time.
    thin = apply_roster(plan(), parse_roster("date,start,agents\n2023-09-04,09:00,1\n"))
    nine = thin["days"][0]["intervals"][2]
    assert nine["rostered_erlang_c"] == {"service_level": 0.0, "occupancy": None}


def test_roster_errors_name_the_line() -> None:
    with pytest.raises(RosterError, match="line 1: expected the columns"):
        parse_roster("day,agents\n")
    with pytest.raises(RosterError, match="line 2: start '08:15' is not a half hour"):
        parse_roster("date,start,agents\n2023-09-04,08:15,2\n")
    with pytest.raises(RosterError, match="line 3: agents 'x' is not a whole number"):
        parse_roster("date,start,agents\n2023-09-04,08:00,2\n2023-09-04,08:30,x\n")
    with pytest.raises(RosterError, match="line 3: 2023-09-04 08:00 is rostered twice"):
        parse_roster("date,start,agents\n2023-09-04,08:00,2\n2023-09-04,08:00,3\n")
    with pytest.raises(RosterError, match="line 2: date '4/9' is not YYYY-MM-DD"):
        parse_roster("date,start,agents\n4/9,08:00,2\n")
    assert parse_roster("date,start,agents\n") == {}
