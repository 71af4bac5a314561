"""Tickets (ärenden): the state of one ticket as a pure function of the set of its events.

docs/definitions.md#pauses-and-reopens: handling time = resolved_at - created_at - paused time,
counted at the final resolution. A reopen continues the same ticket, so the time between
a resolution and its reopen is handling time, not a pause.

Kafka delivers at least once and in no particular order across producers, so the events
are deduplicated by id and sorted by (time, lifecycle rank, id) before they are folded:
any arrival order, replay or duplicate gives the same state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from services.core.calendar import BusinessCalendar
from services.core.events import TicketEvent
from services.core.stats import summary

Status = Literal["unknown", "open", "paused", "resolved", "closed"]
Pause = tuple[datetime, datetime | None]

# Events at the same instant are applied in lifecycle order: a reopen reacts to a
# resolution, and a close follows it, so a tie never undoes what the ticket went through.
_RANK = {
    "ticket.created": 0,
    "ticket.paused": 1,
    "ticket.resumed": 2,
    "ticket.resolved": 3,
    "ticket.reopened": 4,
    "ticket.closed": 5,
}


@dataclass(frozen=True, slots=True)
class TicketState:
    ticket_id: str
    category: str
    priority: int
    municipality: str
    created_at: datetime | None  # earliest ticket.created
    resolved_at: datetime | None  # the final resolution; None while open
    closed_at: datetime | None  # first close after the last reopen; None while not closed
    pauses: tuple[Pause, ...]  # end None while still paused
    reopened: int  # reopens of a resolved or closed ticket
    # Needs a calendar, which the state does not hold, so ticket_state fills it in.
    business_handling_hours: float | None = None

    @property
    def status(self) -> Status:
        if self.created_at is None:
            return "unknown"
        if self.closed_at is not None:
            return "closed"
        if self.resolved_at is not None:
            return "resolved"
        if self.pauses and self.pauses[-1][1] is None:
            return "paused"
        return "open"

    def paused_seconds(self, until: datetime) -> float:
        """Calendar seconds paused between created_at and min(until, resolved_at)."""
        if self.created_at is None:
            return 0.0
        end = until if self.resolved_at is None else min(until, self.resolved_at)
        clipped = clip_pauses(self.pauses, self.created_at, end)
        return sum((hi - lo for lo, hi in clipped), timedelta()).total_seconds()

    @property
    def handling_hours(self) -> float | None:
        if self.created_at is None or self.resolved_at is None:
            return None
        gross = (self.resolved_at - self.created_at).total_seconds()
        # Only a resolution stamped before the creation (clock skew) can go below 0.
        return max(0.0, gross - self.paused_seconds(self.resolved_at)) / 3600


def clip_pauses(
    pauses: Iterable[Pause], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The pauses cut to [start, end], a pause still running ending at `end`."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    out = []
    for lo, hi in pauses:
        a, b = max(lo, start), end if hi is None else min(hi, end)
        if b > a:
            out.append((a, b))
    return out


def business_handling_hours(state: TicketState, calendar: BusinessCalendar) -> float | None:
    if state.created_at is None or state.resolved_at is None:
        return None
    start, end = state.created_at, state.resolved_at
    gross = calendar.business_time(start, end)
    for lo, hi in clip_pauses(state.pauses, start, end):
        gross -= calendar.business_time(lo, hi)
    return max(0.0, gross.total_seconds()) / 3600


def ticket_state(
    events: Iterable[TicketEvent], calendar: BusinessCalendar | None = None
) -> TicketState:
    ordered = _ordered(events)
    if not ordered:
        raise ValueError("a ticket state needs at least one event")
    ids = {e.data.ticket_id for e in ordered}
    if len(ids) > 1:
        raise ValueError(f"events of more than one ticket: {sorted(ids)}")
    state = _fold(ordered)
    if calendar is None:
        return state
    return replace(state, business_handling_hours=business_handling_hours(state, calendar))


def handling_summary(states: Iterable[TicketState], business: bool) -> dict[str, float | None]:
    """Mean, median and p90 handling hours of the resolved tickets among `states`."""
    hours = (s.business_handling_hours if business else s.handling_hours for s in states)
    return summary([h for h in hours if h is not None])


def _ordered(events: Iterable[TicketEvent]) -> list[TicketEvent]:
    by_id: dict[str, TicketEvent] = {}
    for e in events:
        seen = by_id.get(e.id)
        # The id is the dedup key; should two different events share one, the choice
        # must still not depend on arrival order, so the smaller one by content wins.
        if seen is None or (seen != e and _content(e) < _content(seen)):
            by_id[e.id] = e
    return sorted(by_id.values(), key=lambda e: (e.time, _RANK[e.type], e.id))


def _content(e: TicketEvent) -> tuple[datetime, int, str]:
    return (e.time, _RANK[e.type], e.model_dump_json())


def _fold(ordered: Sequence[TicketEvent]) -> TicketState:
    created: datetime | None = None
    resolved: datetime | None = None
    closed: datetime | None = None
    pauses: list[Pause] = []
    phase: Literal["open", "paused", "resolved", "closed"] = "open"
    reopens = 0
    for e in ordered:
        # UTC throughout: subtracting datetimes that share a tzinfo is by wall clock.
        t = e.time.astimezone(UTC)
        kind = e.type
        if kind == "ticket.created":
            created = t if created is None else created
        elif kind == "ticket.paused" and phase == "open":
            pauses.append((t, None))
            phase = "paused"
        elif kind == "ticket.resumed" and phase == "paused":
            pauses[-1] = (pauses[-1][0], t)
            phase = "open"
        elif kind in ("ticket.resolved", "ticket.closed"):
            if phase == "paused":  # a pause never resumed ends at the resolution
                pauses[-1] = (pauses[-1][0], t)
            if kind == "ticket.resolved":
                resolved = t  # the latest resolution since the last reopen
                phase = "closed" if phase == "closed" else "resolved"
            elif phase != "closed":
                closed = t
                resolved = t if resolved is None else resolved
                phase = "closed"
        elif kind == "ticket.reopened" and phase in ("resolved", "closed"):
            reopens += 1
            resolved = closed = None
            phase = "open"
    last = ordered[-1].data
    return TicketState(
        ticket_id=last.ticket_id,
        category=last.category,
        priority=last.priority,
        municipality=last.municipality,
        created_at=created,
        resolved_at=resolved,
        closed_at=closed,
        pauses=tuple(pauses),
        reopened=reopens,
    )
