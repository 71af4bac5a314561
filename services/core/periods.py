"""Reporting periods in local Europe/Stockholm calendar time.

Every boundary is a local midnight, so a period spanning a DST change is an hour shorter
(March) or longer (October) than 24 h per day. `Period.hours` is the real elapsed time,
which is what rates and availability figures have to divide by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.core.contracts.envelope import FIRST_YEAR, LAST_YEAR

STOCKHOLM = ZoneInfo("Europe/Stockholm")

_FORMS = "2022, 2022-T2, 2022-Q3, 2022-07, 2022-W27, 2022-07-15 or 2022-01-01..2022-07-31"
# A period names the years an event may carry. From 1900 Stockholm keeps a whole-minute
# UTC offset (+01:00; before, local mean time +01:00:14 is no RFC 3339 offset); 2999
# keeps every end, a day or a year later, far inside what `date` and the stores'
# microsecond epochs hold.
MIN_YEAR, MAX_YEAR = FIRST_YEAR, LAST_YEAR
# re.ASCII: a plain \d also matches non-ASCII digits, which int() would quietly accept.
_YEAR_RE = re.compile(r"(\d{4})", re.ASCII)
_PART_RE = re.compile(r"(\d{4})-([TQ])(\d)", re.ASCII)
_MONTH_RE = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
_WEEK_RE = re.compile(r"(\d{4})-W(\d{2})", re.ASCII)
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_RANGE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", re.ASCII)
# letter -> (months per part, parts per year, name)
_PARTS = {"T": (4, 3, "tertial"), "Q": (3, 4, "quarter")}


class PeriodError(ValueError):
    """The text is not a period; the message names it and lists the accepted forms."""


class _Invalid(Exception):
    """Internal: carries the specific problem, if any, up to `parse_period`."""


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    start: datetime
    end: datetime

    def contains(self, t: datetime) -> bool:
        # Aware comparisons are by instant, so t may be in any zone, including UTC.
        return self.start <= t < self.end

    @property
    def hours(self) -> float:
        # Not `end - start`: with a shared tzinfo Python subtracts wall-clock times and
        # would hide the DST hour.
        return (self.end_epoch() - self.start_epoch()) / 3600

    def start_epoch(self) -> int:
        return int(self.start.timestamp())

    def end_epoch(self) -> int:
        return int(self.end.timestamp())

    def bounds_us(self) -> tuple[int, int]:
        """Start and end in UTC epoch microseconds, as the store keeps times."""
        return self.start_epoch() * 1_000_000, self.end_epoch() * 1_000_000


def parse_period(text: str, max_years: int | None = None) -> Period:
    """The period `text` names; with `max_years`, one spanning at most that many years."""
    raw = text.strip()
    label = raw.upper()
    try:
        first, after = _dates(label)
    except _Invalid as e:
        detail = f"{e}; " if str(e) else ""
        raise PeriodError(f"unknown period {raw!r}: {detail}use {_FORMS}") from None
    if max_years is not None and after > _years_later(first, max_years):
        # A read costs in proportion to its span; the limit keeps one request cheap.
        raise PeriodError(
            f"period {raw!r} spans more than {max_years} years: ask for at most "
            f"{max_years} years at a time"
        )
    return Period(label, _midnight(first), _midnight(after))


def _years_later(d: date, years: int) -> date:
    # 29 February has no match in a common year: the limit ends on the 28th, the safe side.
    day = 28 if (d.month, d.day) == (2, 29) else d.day
    return d.replace(year=d.year + years, day=day)


def _midnight(d: date) -> datetime:
    # fold=0 picks the earlier instant when a midnight repeats (Stockholm, 1916-10-01), so
    # the day starts at its first midnight. Modern DST shifts are at 02:00/03:00 anyway.
    return datetime.combine(d, time(), tzinfo=STOCKHOLM)


def _dates(label: str) -> tuple[date, date]:
    """First day of the period and the day after its last day."""
    if m := _YEAR_RE.fullmatch(label):
        return _months(_year(m[1]), 1, 12)
    if m := _PART_RE.fullmatch(label):
        size, count, name = _PARTS[m[2]]
        n = int(m[3])
        if not 1 <= n <= count:
            raise _Invalid(f"{name} must be 1..{count}, got {n}")
        return _months(_year(m[1]), 1 + (n - 1) * size, size)
    if m := _MONTH_RE.fullmatch(label):
        if not 1 <= int(m[2]) <= 12:
            raise _Invalid(f"month must be 01..12, got {m[2]}")
        return _months(_year(m[1]), int(m[2]), 1)
    if m := _WEEK_RE.fullmatch(label):
        year = _year(m[1])
        try:
            monday = date.fromisocalendar(year, int(m[2]), 1)
        except ValueError:
            raise _Invalid(f"ISO year {year} has no week {m[2]}") from None
        return monday, monday + timedelta(days=7)
    if _DAY_RE.fullmatch(label):
        day = _day(label)
        return day, day + timedelta(days=1)
    if m := _RANGE_RE.fullmatch(label):
        first, last = _day(m[1]), _day(m[2])
        if first > last:
            raise _Invalid(f"range start {m[1]} is after its end {m[2]}")
        return first, last + timedelta(days=1)
    raise _Invalid()


def _months(year: int, month: int, count: int) -> tuple[date, date]:
    following = month - 1 + count
    return date(year, month, 1), date(year + following // 12, following % 12 + 1, 1)


def _year(digits: str) -> int:
    year = int(digits)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _Invalid(f"year must be {MIN_YEAR}..{MAX_YEAR}, got {digits}")
    return year


def _day(iso: str) -> date:
    _year(iso[:4])
    try:
        return date.fromisoformat(iso)
    except ValueError:
        raise _Invalid(f"no such date {iso}") from None


def local_iso(t: datetime | None) -> str | None:
    """An instant as RFC 3339 in Europe/Stockholm, with its offset (None stays None)."""
    return None if t is None else rfc3339(t)


def rfc3339(t: datetime) -> str:
    """An instant as RFC 3339 in Europe/Stockholm, with its offset.

    RFC 3339 offsets are whole minutes. Before 1900 Stockholm kept local mean time
    (+01:00:14, +01:12:12): such an instant is written in UTC instead, still exact.
    """
    local = t.astimezone(STOCKHOLM)
    offset = local.utcoffset()
    if offset is None or offset.seconds % 60 or offset.microseconds:
        return t.astimezone(UTC).isoformat()
    return local.isoformat()


# The periods people are judged on, by the name Prometheus labels them with.
CURRENT_PERIODS = ("today", "week", "month", "tertial", "year")


def current_periods(now: datetime) -> dict[str, Period]:
    """Today, this ISO week, month, tertial and year in Stockholm at `now`, as parse_period
    gives them: the very bounds GET /v1/sli/...?period=<label> uses."""
    local = now.astimezone(STOCKHOLM).date()
    iso = local.isocalendar()
    labels = {
        "today": local.isoformat(),
        # The ISO year, not the calendar year: 2026-12-31 is in 2026-W53, 2027-01-01 too.
        "week": f"{iso.year:04}-W{iso.week:02}",
        "month": f"{local.year:04}-{local.month:02}",
        "tertial": f"{local.year:04}-T{(local.month - 1) // 4 + 1}",
        "year": f"{local.year:04}",
    }
    return {name: parse_period(labels[name]) for name in CURRENT_PERIODS}
