"""The goal report's staffing line from the store: the period's own hourly buckets,
queues pooled, the service-level indicator's own target and threshold.

Worked by hand for the seed goals file's `serviceniva` (at least 70 % within 20 s),
default calendar (Mon-Fri 08-17), period 2022-03-07..2022-03-20 (two weeks):
each Monday's 08 hour has 12 calls in queue a and 8 in queue b, 180 s each: pooled,
20 calls an hour a week, 10 a half hour, 1 erlang. Erlang C (B recursion):
n = 1 is unstable; n = 2: B = 1/5, C = 1/3, SL = 1 - exp(-20/180) / 3 = 0.7017 >= 0.70.
So 2 agents in each of 08:00 and 08:30: 2 x 2 x 0.5 h = 2 agent-hours a week.
Talk time: 40 calls x 180 s = 2 h in two weeks, 1 h a week. The 500 calls of the
Monday after the period must not count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services import config
from services.core.calendar import BusinessCalendar
from services.core.calls import BucketKey, CallBucket
from services.core.periods import parse_period
from services.readmodel.goals import staffing
from services.store import calls
from services.store.db import make_engine
from services.store.migrate import init_db

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[2] / "config"


def _hour(y: int, m: int, d: int, h: int) -> int:
    return int(datetime(y, m, d, h, tzinfo=ZoneInfo("Europe/Stockholm")).timestamp())


def _calls(n: int) -> CallBucket:
    return CallBucket(offered=n, answered=n, talked=n, talk_ms=n * 180_000)


def test_staffing_of_the_period_from_the_store(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    init_db(engine)
    deltas = {}
    for day in (7, 14):
        deltas[BucketKey(_hour(2022, 3, day, 8), "a", "x")] = _calls(12)
        deltas[BucketKey(_hour(2022, 3, day, 8), "b", "y")] = _calls(8)
    deltas[BucketKey(_hour(2022, 3, 21, 8), "a", "x")] = _calls(500)
    with engine.begin() as conn:
        calls.add_buckets(conn, deltas)
    goals = config.goals(CONFIG)
    period = parse_period("2022-03-07..2022-03-20")
    now = datetime(2022, 4, 1, tzinfo=UTC)
    with engine.connect() as conn:
        found = staffing(conn, goals, period, now, BusinessCalendar())
        empty = staffing(conn, goals, parse_period("2022-02"), now, BusinessCalendar())
    engine.dispose()
    assert set(found) == {"serviceniva"}
    assert found["serviceniva"].needed_hours == 2.0
    assert found["serviceniva"].talk_hours == pytest.approx(1.0)
    assert empty == {}  # no calls: no line
