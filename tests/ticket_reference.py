"""An independent reference for the ticket SLIs, grouped, in calendar and business hours.

Written for tests from the README's definitions, on raw event dicts, with plain
Python, `datetime` and the `holidays` package; nothing from `services` (not its
fold, its calendar or its statistics), so a test that compares opstrack's
figures with these checks the code against the definitions, not against itself.

How this reference reads a ticket's events (deduplicated by event id, then in
order of time; at one instant in lifecycle order: created, paused, resumed,
resolved, reopened, closed):

- created: the earliest ticket.created.
- A pause runs from a ticket.paused of an open (not paused, not resolved)
  ticket to the next ticket.resumed, or to the resolution or close that ends it.
- A ticket.reopened of a resolved or closed ticket makes it open again: the
  time between the resolution and the reopen is handling time, not a pause.
- The final resolution: the last ticket.resolved since the last reopen; a ticket
  closed since then without one is resolved at its (first) close. None while open.
- handling time = final resolution - created - the pauses between the two,
  counted once, at the final resolution.
- business handling time: the same, counting only time when the servicedesk is
  open: Monday to Friday 08:00-17:00 Europe/Stockholm, closed on Swedish public
  holidays and on midsummer eve (the Friday of 19-25 June), Christmas eve and New
  Year's eve.
- Group labels (category, priority, municipality) are those the ticket's latest
  event states. A ticket counts as created in a period when created in it, and as
  resolved, with its handling time, when its final resolution falls in it.
- mean, median and p90 (linear interpolation between closest ranks) of the
  handling times of the tickets resolved in the period; None without any.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

TZ = ZoneInfo("Europe/Stockholm")
OPENS, CLOSES = time(8), time(17)
LIFECYCLE = ("created", "paused", "resumed", "resolved", "reopened", "closed")
GROUPS = ("category", "priority", "municipality")


def quantiles(values: list[float]) -> dict[str, float | None]:
    """Mean, median, p90 by the stdlib (p90 'inclusive' = linear interpolation)."""
    if not values:
        return {"mean": None, "median": None, "p90": None}
    p90 = (
        values[0] if len(values) == 1 else statistics.quantiles(values, n=10, method="inclusive")[8]
    )
    return {"mean": statistics.fmean(values), "median": statistics.median(values), "p90": p90}


@dataclass(frozen=True)
class Ticket:
    labels: dict[str, Any]  # category, priority, municipality
    created: datetime | None
    resolved: datetime | None  # the final resolution
    pauses: tuple[tuple[datetime, datetime], ...]  # within [created, resolved]

    @property
    def hours(self) -> float | None:
        if self.created is None or self.resolved is None:
            return None
        span = (self.resolved - self.created).total_seconds()
        paused = sum((b - a).total_seconds() for a, b in self.pauses)
        return max(0.0, span - paused) / 3600

    @property
    def business_hours(self) -> float | None:
        if self.created is None or self.resolved is None:
            return None
        span = open_seconds(self.created, self.resolved)
        paused = sum(open_seconds(a, b) for a, b in self.pauses)
        return max(0.0, span - paused) / 3600


@cache
def closed_days(year: int) -> frozenset[date]:
    public = holidays.country_holidays("SE", years=year, categories=("public",))
    midsummer_eve = next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)
    return frozenset(public) | {midsummer_eve, date(year, 12, 24), date(year, 12, 31)}


def open_seconds(a: datetime, b: datetime) -> float:
    """Seconds of [a, b) when the servicedesk is open, day by local day."""
    total = 0.0
    day = a.astimezone(TZ).date()
    while day <= b.astimezone(TZ).date():
        if day.weekday() < 5 and day not in closed_days(day.year):
            # Local opening hours as instants; DST changes happen at night, not in them.
            lo = datetime.combine(day, OPENS, TZ).astimezone(UTC)
            hi = datetime.combine(day, CLOSES, TZ).astimezone(UTC)
            start, end = max(a.astimezone(UTC), lo), min(b.astimezone(UTC), hi)
            total += max(0.0, (end - start).total_seconds())
        day += timedelta(days=1)
    return total


def tickets(events: Iterable[dict[str, Any]]) -> dict[str, Ticket]:
    """Each ticket id's Ticket, from ticket.* event dicts (other types ignored)."""
    unique: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["type"].startswith("ticket."):
            unique.setdefault(e["id"], e)
    per_ticket: dict[str, list[tuple[datetime, int, str, dict[str, Any]]]] = defaultdict(list)
    for e in unique.values():
        kind = e["type"].removeprefix("ticket.")
        at = datetime.fromisoformat(e["time"]).astimezone(UTC)
        per_ticket[e["data"]["ticket_id"]].append((at, LIFECYCLE.index(kind), e["id"], e))
    return {tid: _ticket(sorted(evs, key=lambda x: x[:3])) for tid, evs in per_ticket.items()}


def _ticket(timeline: list[tuple[datetime, int, str, dict[str, Any]]]) -> Ticket:
    created: datetime | None = None
    paused_since: datetime | None = None
    pauses: list[tuple[datetime, datetime]] = []
    resolved: datetime | None = None  # since the last reopen
    closed: datetime | None = None  # since the last reopen
    for at, rank, _, _ in timeline:
        kind = LIFECYCLE[rank]
        done = resolved is not None or closed is not None
        if kind == "created":
            created = at if created is None else min(created, at)
        elif kind == "paused" and paused_since is None and not done:
            paused_since = at
        elif kind == "resumed" and paused_since is not None:
            pauses.append((paused_since, at))
            paused_since = None
        elif kind in ("resolved", "closed"):
            if paused_since is not None:
                pauses.append((paused_since, at))
                paused_since = None
            if kind == "resolved":
                resolved = at
            elif closed is None:
                closed = at
        elif kind == "reopened" and done:
            resolved = closed = None
    final = resolved if resolved is not None else closed
    kept: tuple[tuple[datetime, datetime], ...] = ()
    if created is not None and final is not None:
        kept = tuple(
            (max(a, created), min(b, final)) for a, b in pauses if min(b, final) > max(a, created)
        )
    last = timeline[-1][3]["data"]
    return Ticket({g: last[g] for g in GROUPS}, created, final, kept)


def expected_ticket_rows(
    events: Iterable[dict[str, Any]],
    period: tuple[datetime, datetime],
    group_by: tuple[str, ...] = (),
    business: bool = True,
) -> list[dict[str, Any]]:
    """The /v1/sli/tickets rows of the events for the period, grouped by any of GROUPS."""
    assert set(group_by) <= set(GROUPS), group_by
    start, end = period
    created: dict[tuple[Any, ...], int] = defaultdict(int)
    done: dict[tuple[Any, ...], list[Ticket]] = defaultdict(list)
    for t in tickets(events).values():
        key = tuple(t.labels[g] for g in group_by)
        if t.created is not None and start <= t.created < end:
            created[key] += 1
        if t.resolved is not None and start <= t.resolved < end:
            done[key].append(t)
    keys = sorted(set(created) | set(done)) if group_by else [()]
    rows = []
    for key in keys:
        row: dict[str, Any] = dict(zip(group_by, key, strict=True))
        row["created"] = created.get(key, 0)
        row["resolved"] = len(done.get(key, []))
        row["handling_time_hours"] = quantiles(
            [t.hours for t in done.get(key, []) if t.hours is not None]
        )
        if business:
            row["business_handling_time_hours"] = quantiles(
                [t.business_hours for t in done.get(key, []) if t.business_hours is not None]
            )
        rows.append(row)
    return rows
