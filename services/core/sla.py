"""The SLA clock of open tickets: how far each is into its priority's target.

docs/definitions.md#sla-clocks: tickets still open past a target raise a breach warning at 75 % and a breach
at 100 % of it. The clock runs from creation and stops while the ticket is paused; it
runs on calendar time or, with a business calendar, on opening hours only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from services.core.calendar import BusinessCalendar
from services.core.tickets import TicketState, clip_pauses

Level = Literal["ok", "warning", "breached"]


@dataclass(frozen=True)
class SlaTargets:
    hours: Mapping[int, float]  # priority -> target; a priority left out has no SLA
    clock: Literal["calendar", "business"] = "calendar"
    warning_fraction: float = 0.75

    def __post_init__(self) -> None:
        bad = {p: h for p, h in self.hours.items() if not h > 0}
        if bad:
            raise ValueError(f"SLA targets must be positive hours, got {bad}")
        if not 0 < self.warning_fraction <= 1:
            raise ValueError(f"warning_fraction must be in (0, 1], got {self.warning_fraction}")


def sla_elapsed_hours(
    state: TicketState, now: datetime, calendar: BusinessCalendar | None = None
) -> float:
    """Hours on the clock at `now`: since creation, minus pauses so far.

    With a calendar only its open hours count. A resolved ticket's clock stopped at its
    resolution; a ticket without its ticket.created has no clock yet (0).
    """
    if state.created_at is None:
        return 0.0
    start = state.created_at
    end = now.astimezone(UTC)
    if state.resolved_at is not None:
        end = min(end, state.resolved_at)
    if end <= start:
        return 0.0
    pauses = clip_pauses(state.pauses, start, end)
    if calendar is None:
        running = (end - start) - sum((hi - lo for lo, hi in pauses), timedelta())
    else:
        running = calendar.business_time(start, end)
        for lo, hi in pauses:
            running -= calendar.business_time(lo, hi)
    return max(timedelta(), running).total_seconds() / 3600


def sla_level(
    state: TicketState,
    targets: SlaTargets,
    now: datetime,
    calendar: BusinessCalendar | None = None,
) -> Level | None:
    """None for tickets not open or paused, or whose priority has no target."""
    if state.status not in ("open", "paused"):
        return None
    target = targets.hours.get(state.priority)
    if target is None:
        return None
    if targets.clock == "business" and calendar is None:
        raise ValueError("SLA targets on the business clock need a BusinessCalendar")
    elapsed = sla_elapsed_hours(state, now, calendar if targets.clock == "business" else None)
    if elapsed >= target:
        return "breached"
    if elapsed >= targets.warning_fraction * target:
        return "warning"
    return "ok"
