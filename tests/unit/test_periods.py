"""Tests for services.core.periods.

Expectations are worked out by hand or by the small reference below, which encodes the
EU summer-time rule (in force in Sweden since 1996) without going through the parser:
clocks go forward on the last Sunday of March and back on the last Sunday of October.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.periods import (
    CURRENT_PERIODS,
    STOCKHOLM,
    Period,
    PeriodError,
    current_periods,
    local_iso,
    parse_period,
    rfc3339,
)

FORMS = "use 2022, 2022-T2, 2022-Q3, 2022-07, 2022-W27, 2022-07-15 or 2022-01-01..2022-07-31"
EU_RULE_YEARS = st.integers(min_value=1996, max_value=2400)


def last_sunday(year: int, month: int) -> date:
    end = date(year, month, 31)  # March and October both have 31 days
    return end - timedelta(days=(end.weekday() - 6) % 7)


def ref_day_hours(d: date) -> int:
    if d == last_sunday(d.year, 3):
        return 23
    if d == last_sunday(d.year, 10):
        return 25
    return 24


def ref_range_hours(first: date, last: date) -> int:
    hours = 24 * ((last - first).days + 1)
    for year in range(first.year, last.year + 1):
        hours -= first <= last_sunday(year, 3) <= last
        hours += first <= last_sunday(year, 10) <= last
    return hours


def iso(dt: datetime) -> str:
    return dt.isoformat()


# --- hand-worked periods -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "hours"),
    [
        ("2022", "2022-01-01T00:00:00+01:00", "2023-01-01T00:00:00+01:00", 8760),
        ("2020", "2020-01-01T00:00:00+01:00", "2021-01-01T00:00:00+01:00", 8784),
        # Jan-Apr: 120 days, loses the March hour
        ("2022-T1", "2022-01-01T00:00:00+01:00", "2022-05-01T00:00:00+02:00", 2879),
        ("2022-T2", "2022-05-01T00:00:00+02:00", "2022-09-01T00:00:00+02:00", 2952),
        # Sep-Dec: 122 days, gains the October hour
        ("2022-T3", "2022-09-01T00:00:00+02:00", "2023-01-01T00:00:00+01:00", 2929),
        ("2022-Q1", "2022-01-01T00:00:00+01:00", "2022-04-01T00:00:00+02:00", 2159),
        ("2022-Q2", "2022-04-01T00:00:00+02:00", "2022-07-01T00:00:00+02:00", 2184),
        ("2022-Q3", "2022-07-01T00:00:00+02:00", "2022-10-01T00:00:00+02:00", 2208),
        ("2022-Q4", "2022-10-01T00:00:00+02:00", "2023-01-01T00:00:00+01:00", 2209),
        ("2022-02", "2022-02-01T00:00:00+01:00", "2022-03-01T00:00:00+01:00", 672),
        ("2022-03", "2022-03-01T00:00:00+01:00", "2022-04-01T00:00:00+02:00", 743),
        ("2022-07", "2022-07-01T00:00:00+02:00", "2022-08-01T00:00:00+02:00", 744),
        ("2022-10", "2022-10-01T00:00:00+02:00", "2022-11-01T00:00:00+01:00", 745),
        ("2022-12", "2022-12-01T00:00:00+01:00", "2023-01-01T00:00:00+01:00", 744),
        ("2022-W27", "2022-07-04T00:00:00+02:00", "2022-07-11T00:00:00+02:00", 168),
        ("2022-W01", "2022-01-03T00:00:00+01:00", "2022-01-10T00:00:00+01:00", 168),
        # 2022-03-27 falls in week 12
        ("2022-W12", "2022-03-21T00:00:00+01:00", "2022-03-28T00:00:00+02:00", 167),
        ("2022-W43", "2022-10-24T00:00:00+02:00", "2022-10-31T00:00:00+01:00", 169),
        ("2020-W53", "2020-12-28T00:00:00+01:00", "2021-01-04T00:00:00+01:00", 168),
        ("2026-W53", "2026-12-28T00:00:00+01:00", "2027-01-04T00:00:00+01:00", 168),
        ("2022-07-15", "2022-07-15T00:00:00+02:00", "2022-07-16T00:00:00+02:00", 24),
        ("2022-03-27", "2022-03-27T00:00:00+01:00", "2022-03-28T00:00:00+02:00", 23),
        ("2022-10-30", "2022-10-30T00:00:00+02:00", "2022-10-31T00:00:00+01:00", 25),
        ("2024-02-29", "2024-02-29T00:00:00+01:00", "2024-03-01T00:00:00+01:00", 24),
        # 212 days, end date's whole day included, crosses the March change
        (
            "2022-01-01..2022-07-31",
            "2022-01-01T00:00:00+01:00",
            "2022-08-01T00:00:00+02:00",
            5087,
        ),
        ("2022-07-15..2022-07-15", "2022-07-15T00:00:00+02:00", "2022-07-16T00:00:00+02:00", 24),
        (
            "2022-12-31..2023-01-01",
            "2022-12-31T00:00:00+01:00",
            "2023-01-02T00:00:00+01:00",
            48,
        ),
    ],
)
def test_hand_worked(text: str, start: str, end: str, hours: int) -> None:
    p = parse_period(text)
    assert p.label == text
    assert (iso(p.start), iso(p.end)) == (start, end)
    assert p.start.tzinfo is STOCKHOLM
    assert p.end.tzinfo is STOCKHOLM
    assert p.hours == hours


def test_epochs() -> None:
    p = parse_period("2022")
    # 2022-01-01T00:00Z is 1640995200; Stockholm midnight is an hour earlier in UTC
    assert p.start_epoch() == 1640995200 - 3600
    assert p.end_epoch() == 1640995200 + 365 * 86400 - 3600
    assert isinstance(p.start_epoch(), int)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2022-t2", "2022-T2"),
        ("  2022-q3\n", "2022-Q3"),
        ("2022-w27", "2022-W27"),
        ("\t2022-07-15 ", "2022-07-15"),
        (" 2022-01-01..2022-07-31 ", "2022-01-01..2022-07-31"),
    ],
)
def test_case_and_whitespace_normalised(text: str, label: str) -> None:
    assert parse_period(text).label == label
    assert parse_period(text) == parse_period(label)


def test_contains_is_half_open_and_zone_independent() -> None:
    p = parse_period("2022-07-15")
    assert p.contains(datetime(2022, 7, 15, tzinfo=STOCKHOLM))
    assert p.contains(datetime(2022, 7, 15, 23, 59, 59, 999999, tzinfo=STOCKHOLM))
    assert not p.contains(datetime(2022, 7, 16, tzinfo=STOCKHOLM))
    assert not p.contains(datetime(2022, 7, 14, 23, 59, 59, 999999, tzinfo=STOCKHOLM))
    # 2022-07-14T22:00Z is local midnight at +02:00
    assert p.contains(datetime(2022, 7, 14, 22, tzinfo=UTC))
    assert not p.contains(datetime(2022, 7, 14, 21, 59, 59, tzinfo=UTC))
    assert p.contains(datetime(2022, 7, 15, 21, 59, 59, tzinfo=UTC))
    assert not p.contains(datetime(2022, 7, 15, 22, tzinfo=UTC))


def test_contains_both_repeated_hours_on_october_change() -> None:
    p = parse_period("2022-10-30")
    first = datetime(2022, 10, 30, 2, 30, tzinfo=STOCKHOLM, fold=0)
    second = datetime(2022, 10, 30, 2, 30, tzinfo=STOCKHOLM, fold=1)
    assert first.astimezone(UTC) != second.astimezone(UTC)
    assert p.contains(first)
    assert p.contains(second)
    # the last local instant of the day is 25 hours after its start
    assert p.contains(datetime(2022, 10, 29, 22, tzinfo=UTC) + timedelta(hours=24, minutes=59))
    assert not p.contains(datetime(2022, 10, 29, 22, tzinfo=UTC) + timedelta(hours=25))


def test_contains_rejects_naive() -> None:
    with pytest.raises(TypeError):
        parse_period("2022").contains(datetime(2022, 7, 1))


def test_period_is_frozen() -> None:
    p = parse_period("2022")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.label = "2023"  # type: ignore[misc]


def test_period_error_is_value_error() -> None:
    assert issubclass(PeriodError, ValueError)


# --- errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", None),
        ("   ", None),
        ("yesterday", None),
        ("22", None),
        ("20222", None),
        ("2022-7", None),
        ("2022-W5", None),
        ("2022/07", None),
        ("2022-H1", None),
        ("2022-Q12", None),
        ("2022-07-15..", None),
        ("2022-07-15 .. 2022-07-20", None),
        ("2022-07-15..2022-07-20..2022-07-25", None),
        ("\uff12\uff10\uff12\uff12", None),  # full-width digits "2022"
        ("2022\n-07", None),
        ("2022-13", "month must be 01..12, got 13"),
        ("2022-00", "month must be 01..12, got 00"),
        ("2022-T4", "tertial must be 1..3, got 4"),
        ("2022-T0", "tertial must be 1..3, got 0"),
        ("2022-Q5", "quarter must be 1..4, got 5"),
        ("2022-q0", "quarter must be 1..4, got 0"),
        ("2022-W53", "ISO year 2022 has no week 53"),
        ("2022-W54", "ISO year 2022 has no week 54"),
        ("2020-W54", "ISO year 2020 has no week 54"),
        ("2022-W00", "ISO year 2022 has no week 00"),
        ("2022-02-30", "no such date 2022-02-30"),
        ("2022-02-29", "no such date 2022-02-29"),
        ("2022-13-01", "no such date 2022-13-01"),
        ("2022-07-00", "no such date 2022-07-00"),
        ("2022-07-31..2022-01-01", "range start 2022-07-31 is after its end 2022-01-01"),
        ("2022-01-01..2022-02-30", "no such date 2022-02-30"),
        ("2022-02-30..2022-03-01", "no such date 2022-02-30"),
        ("0000", "year must be 1900..2999, got 0000"),
        ("0001", "year must be 1900..2999, got 0001"),
        ("1899", "year must be 1900..2999, got 1899"),
        ("1899-12-31", "year must be 1900..2999, got 1899"),
        ("1899-W52", "year must be 1900..2999, got 1899"),
        ("3000", "year must be 1900..2999, got 3000"),
        ("9999", "year must be 1900..2999, got 9999"),
        ("9999-Q4", "year must be 1900..2999, got 9999"),
        ("9999-12", "year must be 1900..2999, got 9999"),
        ("9999-W52", "year must be 1900..2999, got 9999"),
        ("9999-12-31", "year must be 1900..2999, got 9999"),
        ("2999-12-31..3000-01-01", "year must be 1900..2999, got 3000"),
        ("0001-01-01..9998-12-31", "year must be 1900..2999, got 0001"),
    ],
)
def test_errors(text: str, problem: str | None) -> None:
    with pytest.raises(PeriodError) as info:
        parse_period(text)
    message = str(info.value)
    detail = f"{problem}; " if problem else ""
    assert message == f"unknown period {text.strip()!r}: {detail}{FORMS}"
    assert "\n" not in message


def test_error_message_example_from_spec() -> None:
    with pytest.raises(PeriodError, match=r"^unknown period '2022-13': .*; use 2022, 2022-T2, "):
        parse_period("2022-13")


def test_extreme_years_parse() -> None:
    assert iso(parse_period("2999").end) == "3000-01-01T00:00:00+01:00"
    # 1 January 1900 was a Monday, so ISO week 1 of 1900 starts on it.
    assert iso(parse_period("1900-W01").start) == "1900-01-01T00:00:00+01:00"
    assert iso(parse_period("1900").start) == "1900-01-01T00:00:00+01:00"
    assert iso(parse_period("2999-12-31").end) == "3000-01-01T00:00:00+01:00"


# --- the span limit -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("2000-01-01..2009-12-31", 10),  # exactly ten years: 2000 .. 2009
        ("2000-03-01..2010-02-28", 10),
        ("2024-02-29..2034-02-27", 10),  # to the 28th: 2034 has no 29 February
        ("2022", 1),
        ("2022-07-15..2023-07-14", 1),
        ("2020-W53", 1),
    ],
)
def test_span_within_the_limit(text: str, years: int) -> None:
    assert parse_period(text, max_years=years).label == text


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("2000-01-01..2010-01-01", 10),  # ten years and a day
        ("1900-01-01..2999-12-31", 10),
        ("2024-02-29..2034-02-28", 10),
        ("2022-07-15..2023-07-15", 1),
    ],
)
def test_span_over_the_limit_is_refused(text: str, years: int) -> None:
    with pytest.raises(PeriodError) as info:
        parse_period(text, max_years=years)
    assert str(info.value) == (
        f"period {text!r} spans more than {years} years: ask for at most {years} years at a time"
    )


def test_no_span_limit_unless_asked() -> None:
    assert parse_period("1900-01-01..2999-12-31").start.year == 1900


# --- RFC 3339 output ------------------------------------------------------------------


def test_stockholm_offset_is_whole_minutes_from_1900() -> None:
    # The zone database: local mean time +01:00:14 until 1900-01-01, then CET. The
    # floor of MIN_YEAR rests on this; were it to move, this says so.
    assert datetime(1899, 12, 31, 12, tzinfo=STOCKHOLM).utcoffset() == timedelta(
        hours=1, seconds=14
    )
    assert datetime(1900, 1, 1, tzinfo=STOCKHOLM).utcoffset() == timedelta(hours=1)


RFC3339 = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_every_period_boundary_is_rfc3339(d: date) -> None:
    p = parse_period(d.isoformat())
    assert re.fullmatch(RFC3339, rfc3339(p.start)), rfc3339(p.start)
    assert re.fullmatch(RFC3339, rfc3339(p.end)), rfc3339(p.end)


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        # local mean time: written in UTC, the same instant
        (datetime(1899, 6, 1, 12, tzinfo=UTC), "1899-06-01T12:00:00+00:00"),
        (datetime(1850, 1, 1, 0, 0, 30, tzinfo=UTC), "1850-01-01T00:00:30+00:00"),
        (datetime(1900, 1, 1, 12, tzinfo=UTC), "1900-01-01T13:00:00+01:00"),
        (datetime(2022, 7, 15, 10, tzinfo=UTC), "2022-07-15T12:00:00+02:00"),
    ],
)
def test_rfc3339_keeps_the_instant_with_a_whole_minute_offset(instant: datetime, text: str) -> None:
    assert rfc3339(instant) == text
    assert local_iso(instant) == text
    assert datetime.fromisoformat(text) == instant
    assert local_iso(None) is None


# --- properties --------------------------------------------------------------------


def assert_tiles(year_text: str, parts: list[str]) -> None:
    year = parse_period(year_text)
    periods = [parse_period(p) for p in parts]
    assert periods[0].start == year.start
    assert periods[-1].end == year.end
    for before, after in pairwise(periods):
        assert before.end == after.start
    assert sum(p.hours for p in periods) == year.hours


@given(st.integers(min_value=1900, max_value=2999))
def test_parts_tile_the_year(year: int) -> None:
    y = f"{year:04}"
    p = parse_period(y)
    assert p.start == datetime(year, 1, 1, tzinfo=STOCKHOLM)
    assert p.end == datetime(year + 1, 1, 1, tzinfo=STOCKHOLM)
    assert_tiles(y, [f"{y}-T{n}" for n in (1, 2, 3)])
    assert_tiles(y, [f"{y}-Q{n}" for n in (1, 2, 3, 4)])
    assert_tiles(y, [f"{y}-{m:02}" for m in range(1, 13)])


@given(EU_RULE_YEARS)
def test_year_hours_under_eu_rule(year: int) -> None:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    assert parse_period(str(year)).hours == (8784 if leap else 8760)
    assert parse_period(f"{year}-03").hours == 743
    assert parse_period(f"{year}-10").hours == 745


@given(
    st.dates(min_value=date(1996, 1, 1), max_value=date(2400, 12, 31)),
    st.integers(min_value=0, max_value=400),
)
def test_range_hours_equal_sum_of_day_hours(first: date, span: int) -> None:
    last = first + timedelta(days=span)
    days = [first + timedelta(days=i) for i in range(span + 1)]
    rng = parse_period(f"{first}..{last}")
    assert rng.hours == sum(parse_period(d.isoformat()).hours for d in days)
    assert rng.hours == sum(ref_day_hours(d) for d in days)


@given(
    st.dates(min_value=date(1996, 1, 1), max_value=date(2999, 12, 31)),
    st.dates(min_value=date(1996, 1, 1), max_value=date(2999, 12, 31)),
)
def test_long_range_hours_match_reference(a: date, b: date) -> None:
    first, last = min(a, b), max(a, b)
    assert parse_period(f"{first}..{last}").hours == ref_range_hours(first, last)


# The last days of 1899 fall in ISO week 1900-W01 only if 1900 started mid-week: it
# started on a Monday, so every date from 1900-01-01 has an ISO year of 1900 or later.
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 24)))
def test_week_of_a_date_contains_it(d: date) -> None:
    iso_year, week, weekday = d.isocalendar()
    p = parse_period(f"{iso_year:04}-W{week:02}")
    monday = d - timedelta(days=weekday - 1)
    assert p.start == datetime(monday.year, monday.month, monday.day, tzinfo=STOCKHOLM)
    assert p.contains(datetime(d.year, d.month, d.day, 12, tzinfo=STOCKHOLM))


@given(
    st.dates(min_value=date(1900, 1, 2), max_value=date(2100, 12, 30)),
    st.integers(min_value=-3 * 86400, max_value=3 * 86400),
)
def test_day_contains_exactly_its_local_instants(d: date, offset_s: int) -> None:
    t = datetime(d.year, d.month, d.day, 12, tzinfo=UTC) + timedelta(seconds=offset_s)
    assert parse_period(d.isoformat()).contains(t) == (t.astimezone(STOCKHOLM).date() == d)


@given(st.dates(min_value=date(1996, 1, 1), max_value=date(2400, 12, 31)))
def test_day_start_offset_matches_eu_rule(d: date) -> None:
    summer = last_sunday(d.year, 3) < d <= last_sunday(d.year, 10)
    p = parse_period(d.isoformat())
    assert p.start.utcoffset() == timedelta(hours=2 if summer else 1)
    assert p.hours == ref_day_hours(d)


def test_period_constructible_directly() -> None:
    start = datetime(2022, 1, 1, tzinfo=STOCKHOLM)
    p = Period("x", start, start + timedelta(days=1))
    assert p.hours == 24


def test_current_periods_on_2026_12_06() -> None:
    # Sunday 6 December 2026, 10:00 UTC (11:00 in Stockholm): ISO week 49 ran
    # Monday 30 November to Sunday 6 December (1 January 2026 was a Thursday, so
    # week 1 began on Monday 29 December 2025, and 29 Dec + 48 weeks = 30 Nov).
    got = current_periods(datetime(2026, 12, 6, 10, tzinfo=UTC))
    want = {
        "today": ("2026-12-06", date(2026, 12, 6), date(2026, 12, 7)),
        "week": ("2026-W49", date(2026, 11, 30), date(2026, 12, 7)),
        "month": ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        "tertial": ("2026-T3", date(2026, 9, 1), date(2027, 1, 1)),
        "year": ("2026", date(2026, 1, 1), date(2027, 1, 1)),
    }
    assert list(got) == list(CURRENT_PERIODS)
    for name, (label, first, after) in want.items():
        p = got[name]
        assert (p.label, p.start, p.end) == (
            label,
            datetime(first.year, first.month, first.day, tzinfo=STOCKHOLM),
            datetime(after.year, after.month, after.day, tzinfo=STOCKHOLM),
        )


def test_current_periods_across_a_year_end_are_local_and_iso() -> None:
    # 23:30 UTC on 31 December is 00:30 on 1 January in Stockholm (UTC+1): the new
    # year, month and tertial, but the ISO week is still 2026-W53 (Mon 28 Dec-Sun 3 Jan).
    got = current_periods(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert {k: p.label for k, p in got.items()} == {
        "today": "2027-01-01",
        "week": "2026-W53",
        "month": "2027-01",
        "tertial": "2027-T1",
        "year": "2027",
    }
    assert got["week"].start == datetime(2026, 12, 28, tzinfo=STOCKHOLM)
    assert got["week"].end == datetime(2027, 1, 4, tzinfo=STOCKHOLM)
    # One second earlier in local time it is still the old year.
    before = current_periods(datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC))
    assert before["year"].label == "2026" and before["today"].label == "2026-12-31"


def test_current_periods_in_summer_time() -> None:
    # 22:30 UTC on 30 April is 00:30 on 1 May in Stockholm (UTC+2): tertial 2.
    got = current_periods(datetime(2026, 4, 30, 22, 30, tzinfo=UTC))
    assert got["tertial"].label == "2026-T2"
    assert got["tertial"].start == datetime(2026, 5, 1, tzinfo=STOCKHOLM)
    assert got["today"].start_epoch() == int(datetime(2026, 4, 30, 22, tzinfo=UTC).timestamp())
