"""The business-hours calendar: when the servicedesk is open, and how much open time lies
between two instants.

docs/definitions.md#business-calendar: Mon-Fri 08-17 Europe/Stockholm, closed on Swedish public
holidays and the de facto ones (midsummer, Christmas and New Year's eve), i.e. the
`holidays` package's `public` + `de_facto` categories.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from services.core.periods import STOCKHOLM

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=256)
def _closed_dates(country: str, categories: tuple[str, ...], year: int) -> frozenset[date]:
    # Building a year of holidays costs far more than a lookup, and every ticket asks
    # about the same few years, so each (country, categories, year) is built once.
    return frozenset(holidays.country_holidays(country, years=year, categories=categories))


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    opens: time = time(8)
    closes: time = time(17)
    workdays: frozenset[int] = frozenset(range(5))  # date.weekday(): Monday is 0
    tz: ZoneInfo = STOCKHOLM
    country: str = "SE"
    categories: tuple[str, ...] = ("public", "de_facto")

    def __post_init__(self) -> None:
        if not self.opens < self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opens and closes are local wall-clock times, without tzinfo")
        if not self.workdays <= frozenset(range(7)):
            raise ValueError(f"workdays are weekday numbers 0..6, got {sorted(self.workdays)}")

    def is_open_day(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in _closed_dates(
            self.country, self.categories, day.year
        )

    def is_open(self, t: datetime) -> bool:
        day = _local_date(t, self.tz)
        if not self.is_open_day(day):
            return False
        start, end = self._hours(day)
        return start <= t.astimezone(UTC) < end

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Open seconds in [start, end); 0 when end <= start."""
        return self.business_time(start, end).total_seconds()

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """As business_seconds, as an exact timedelta (sums of these are exactly additive)."""
        a, b = _utc(start), _utc(end)
        total = timedelta()
        for day in _days(_local_date(a, self.tz), _local_date(b, self.tz)):
            if not self.is_open_day(day):
                continue
            opened, closed = self._hours(day)
            lo, hi = max(a, opened), min(b, closed)
            if hi > lo:
                total += hi - lo
        return total

    def _hours(self, day: date) -> tuple[datetime, datetime]:
        # Opening and closing are local wall-clock times turned into instants one by one,
        # so a day keeps its 9 open hours whether it is on CET or CEST. They are compared
        # in UTC because Python subtracts two datetimes sharing a ZoneInfo by wall clock.
        opened = datetime.combine(day, self.opens, tzinfo=self.tz).astimezone(UTC)
        closed = datetime.combine(day, self.closes, tzinfo=self.tz).astimezone(UTC)
        return opened, closed


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"business time needs an aware datetime, got naive {t.isoformat()}")
    return t.astimezone(UTC)


def _local_date(t: datetime, tz: ZoneInfo) -> date:
    return _utc(t).astimezone(tz).date()


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += _ONE_DAY
