"""Time and identity for simulated events: local wall clock, open-hours arithmetic, event dicts.

Everything here is pure: instants are computed from dates and drawn numbers, never
read from a clock, so a scenario replays to the very same events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.core.calendar import BusinessCalendar
from services.core.periods import STOCKHOLM

# The servicedesk's hours, the business calendar (docs/definitions.md#business-calendar): Mon-Fri 08-17, Swedish holidays.
CALENDAR = BusinessCalendar()
ONE_DAY = timedelta(days=1)

# An event waiting to be yielded: its instant as UTC epoch seconds, and the CloudEvent.
Stamped = tuple[float, dict[str, Any]]


def local(day: date, hour: int, second: int = 0) -> datetime:
    """A local wall-clock time on `day`, `second` seconds after the full `hour`, as UTC."""
    wall = datetime.combine(day, time(hour), tzinfo=STOCKHOLM) + timedelta(seconds=second)
    # Wall-clock arithmetic above is what we want (an office hour is an hour on the
    # wall); the UTC form makes later sums elapsed time across DST changes.
    return wall.astimezone(UTC)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=STOCKHOLM).astimezone(UTC)


def iso(t: datetime) -> str:
    """Local time with its offset, whole seconds: how the department's systems write it."""
    return t.astimezone(STOCKHOLM).isoformat(timespec="seconds")


def open_span(day: date) -> tuple[datetime, datetime] | None:
    """The servicedesk's opening and closing instants on `day`, None when it is closed."""
    if not CALENDAR.is_open_day(day):
        return None
    return local(day, CALENDAR.opens.hour), local(day, CALENDAR.closes.hour)


def add_open_time(start: datetime, seconds: float) -> datetime:
    """The instant at which `seconds` of open time have passed since `start`.

    Staff work tickets in office hours, so work drawn in open hours lands on the
    calendar here: a ticket needing three hours of work created at 16:00 on a Friday
    is resolved on Monday at 10:00.
    """
    left = timedelta(seconds=round(seconds))
    cursor = start.astimezone(UTC)
    day = cursor.astimezone(STOCKHOLM).date()
    while True:
        span = open_span(day)
        if span is not None:
            begin = max(cursor, span[0])
            if begin < span[1]:
                if left <= span[1] - begin:
                    return begin + left
                left -= span[1] - begin
        day += ONE_DAY


class Ids:
    """Event and entity ids from the seed, a place in the run and counters.

    The same seed gives the same ids, so replaying a run is deduplicated by the
    stack; another seed gives other ids, so two runs never collide.
    """

    def __init__(self, seed: int, place: str) -> None:
        self.scope = f"s{seed}-{place}"
        self.n = 0
        self.entities: dict[str, int] = {}

    def next(self) -> str:
        self.n += 1
        return f"syd-it-2022-{self.scope}-{self.n:06d}"

    def entity(self, kind: str) -> str:
        """The next id of an entity of this kind, e.g. SD-s2022-20220301-0012."""
        k = self.entities[kind] = self.entities.get(kind, 0) + 1
        return f"{kind}-{self.scope}-{k:04d}"


def event(ids: Ids, kind: str, at: datetime, source: str, data: Mapping[str, Any]) -> Stamped:
    body = {
        "specversion": "1.0",
        "id": ids.next(),
        "source": source,
        "type": kind,
        "time": iso(at),
        "data": dict(data),
    }
    return at.timestamp(), body
