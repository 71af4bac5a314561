"""The months a report's trend is drawn over: calendar months, clipped to the period,
only those that have begun."""

from __future__ import annotations

from datetime import UTC, datetime

from services.core.periods import parse_period
from services.report.build import months


def test_months_of_a_tertial_that_has_begun_in_june() -> None:
    period = parse_period("2022-T2")  # May to August
    now = datetime(2022, 6, 10, 12, 0, tzinfo=UTC)
    assert [m.label for m in months(period, now)] == ["2022-05", "2022-06"]
    may = months(period, now)[0]
    assert (may.start, may.end) == (period.start, parse_period("2022-06").start)


def test_months_clipped_to_a_range() -> None:
    period = parse_period("2022-01-15..2022-03-10")
    got = months(period, datetime(2023, 1, 1, tzinfo=UTC))
    assert [m.label for m in got] == ["2022-01", "2022-02", "2022-03"]
    assert got[0].start == period.start and got[-1].end == period.end
    assert got[1].start == parse_period("2022-02").start
