"""Tests for services.core.calendar: Swedish business hours, exact and DST-correct.

Hand-worked examples first; then properties, and a brute-force reference written here
that counts open quarter-hours one by one from the local wall clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.core.calendar import BusinessCalendar

TZ = ZoneInfo("Europe/Stockholm")
CAL = BusinessCalendar()
EVERY_DAY = BusinessCalendar(workdays=frozenset(range(7)))
H = 3600


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def hours(start: str, end: str, cal: BusinessCalendar = CAL) -> float:
    return cal.business_seconds(local(start), local(end)) / H


# --- hand-worked examples -------------------------------------------------------------


def test_across_a_weekend() -> None:
    # Fri 16-17 (1 h) + Mon 08-09 (1 h)
    assert hours("2022-09-16 16:00", "2022-09-19 09:00") == 2


def test_across_midsummer_eve_2022() -> None:
    # Thu 23 June 16-17 (1 h); Fri 24 June is midsummer eve (closed); Mon 27 08-09 (1 h)
    assert hours("2022-06-23 16:00", "2022-06-27 09:00") == 2


def test_across_christmas_and_new_year() -> None:
    # Thu 23 Dec 16-17 (1 h); Fri 24 Christmas eve, weekend; Mon 27-Thu 30 (4 x 9 h);
    # Fri 31 New Year's eve, weekend; Mon 3 Jan 08-09 (1 h): 38 h
    assert hours("2021-12-23 16:00", "2022-01-03 09:00") == 38


def test_a_whole_week_with_a_public_holiday() -> None:
    # Mon 3 Jan - Fri 7 Jan 2022, Thu 6 Jan is Epiphany: 4 x 9 h
    assert hours("2022-01-03 00:00", "2022-01-08 00:00") == 36


def test_a_working_day_is_nine_hours_on_both_dst_change_days() -> None:
    # DST changes on Sundays, so open every day to see it: 23 h and 25 h days, 9 h open.
    assert hours("2022-03-27 00:00", "2022-03-28 00:00", EVERY_DAY) == 9
    assert hours("2022-10-30 00:00", "2022-10-31 00:00", EVERY_DAY) == 9


def test_a_week_across_the_spring_dst_change() -> None:
    # Fri 25 March (CET) and Mon 28 March (CEST): 9 h each, whatever the offset
    assert hours("2022-03-25 08:00", "2022-03-28 17:00") == 18


def test_utc_input_is_read_as_the_instant_it_is() -> None:
    # 08:00-17:00 local is 07-16 UTC in winter and 06-15 UTC in summer
    winter = CAL.business_seconds(
        datetime(2022, 3, 25, 7, tzinfo=UTC), datetime(2022, 3, 25, 16, tzinfo=UTC)
    )
    summer = CAL.business_seconds(
        datetime(2022, 3, 28, 6, tzinfo=UTC), datetime(2022, 3, 28, 15, tzinfo=UTC)
    )
    assert winter == summer == 9 * H


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2022-09-19 06:00", "2022-09-19 07:30", 0),  # before opening
        ("2022-09-19 07:00", "2022-09-19 09:00", 1),  # across opening
        ("2022-09-19 16:30", "2022-09-19 20:00", 0.5),  # across closing
        ("2022-09-19 18:00", "2022-09-20 08:30", 0.5),  # overnight
        ("2022-09-19 10:15", "2022-09-19 10:45", 0.5),  # inside
        ("2022-09-17 09:00", "2022-09-18 15:00", 0),  # a weekend
    ],
)
def test_before_and_after_opening_hours(start: str, end: str, expected: float) -> None:
    assert hours(start, end) == expected


def test_end_not_after_start_is_zero() -> None:
    assert hours("2022-09-19 10:00", "2022-09-19 10:00") == 0
    assert hours("2022-09-19 12:00", "2022-09-19 10:00") == 0


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        CAL.business_seconds(datetime(2022, 9, 19, 8), local("2022-09-19 10:00"))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2022-09-19 08:00", True),  # Monday, opening
        ("2022-09-19 16:59:59", True),
        ("2022-09-19 17:00", False),  # closing is exclusive
        ("2022-09-19 07:59", False),
        ("2022-09-17 10:00", False),  # Saturday
        ("2022-06-24 10:00", False),  # midsummer eve
        ("2022-12-23 10:00", True),  # the working day before Christmas eve
        ("2021-12-24 10:00", False),  # Christmas eve on a Friday
        ("2021-12-31 10:00", False),  # New Year's eve on a Friday
        ("2022-06-06 10:00", False),  # National Day, a Monday
    ],
)
def test_is_open(when: str, expected: bool) -> None:
    assert CAL.is_open(local(when)) is expected


def test_custom_hours() -> None:
    cal = BusinessCalendar(opens=time(7, 30), closes=time(16))
    assert hours("2022-09-19 00:00", "2022-09-20 00:00", cal) == 8.5


def test_closing_before_opening_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        BusinessCalendar(opens=time(17), closes=time(8))


# --- properties -----------------------------------------------------------------------

QUARTER = timedelta(minutes=15)
_SE = holidays.country_holidays("SE", years=range(2020, 2025), categories=("public", "de_facto"))


def reference_open_quarters(start: datetime, end: datetime) -> int:
    """Quarter-hours [t, t+15 min) inside [start, end) whose local start is open."""
    n, t = 0, start
    while t < end:
        wall = t.astimezone(TZ)
        if wall.weekday() < 5 and wall.date() not in _SE and time(8) <= wall.time() < time(17):
            n += 1
        t += QUARTER
    return n


# Quarter-hour instants in 2020-2024; DST moves by whole hours, so local times of these
# are on quarter-hours too and the reference is exact at that step.
_BASE = datetime(2020, 1, 1, tzinfo=UTC)
quarters = st.integers(0, 5 * 365 * 96).map(lambda k: _BASE + k * QUARTER)
spans = st.integers(0, 14 * 96).map(lambda k: k * QUARTER)
any_instant = st.integers(0, 5 * 365 * 86400 * 10**6).map(
    lambda us: _BASE + timedelta(microseconds=us)
)


@settings(deadline=None)
@given(quarters, spans)
def test_matches_a_brute_force_count(start: datetime, span: timedelta) -> None:
    end = start + span
    assert CAL.business_seconds(start, end) == reference_open_quarters(start, end) * 15 * 60


@given(any_instant, any_instant, any_instant)
def test_additive(a: datetime, b: datetime, c: datetime) -> None:
    start, mid, end = sorted((a, b, c))
    assert CAL.business_time(start, mid) + CAL.business_time(mid, end) == CAL.business_time(
        start, end
    )
    whole = CAL.business_seconds(start, mid) + CAL.business_seconds(mid, end)
    assert whole == pytest.approx(CAL.business_seconds(start, end), abs=1e-6)


@given(any_instant, st.integers(0, 40 * 86400))
def test_never_more_than_calendar_time(start: datetime, seconds: int) -> None:
    end = start + timedelta(seconds=seconds)
    assert 0 <= CAL.business_seconds(start, end) <= (end - start).total_seconds()


@given(any_instant)
def test_is_open_agrees_with_one_second_of_business_time(t: datetime) -> None:
    t = t.replace(microsecond=0)
    assert CAL.is_open(t) is (CAL.business_seconds(t, t + timedelta(seconds=1)) == 1)


def test_holiday_dates_of_the_reference_are_the_expected_ones() -> None:
    # Guards the reference itself: the de facto holidays must be in it.
    assert {date(2022, 6, 24), date(2022, 12, 24), date(2022, 12, 31)} <= set(_SE)
