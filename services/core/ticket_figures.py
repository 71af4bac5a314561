"""Ticket SLIs for a period: created, resolved and handling-time summaries, grouped."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.core.periods import STOCKHOLM, rfc3339
from services.core.stats import summary

TICKET_GROUPS = ("category", "priority", "municipality", "day")


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the figures need of a ticket, as the store keeps it."""

    category: str
    priority: int
    municipality: str
    created_at: datetime | None
    resolved_at: datetime | None
    handling_hours: float | None
    business_handling_hours: float | None


def _key(t: TicketFacts, group_by: tuple[str, ...], at: datetime) -> tuple[Any, ...]:
    key: list[Any] = []
    for g in group_by:
        if g == "day":
            local = at.astimezone(STOCKHOLM)
            key.append(datetime(local.year, local.month, local.day, tzinfo=STOCKHOLM))
        else:
            key.append(getattr(t, g))
    return tuple(key)


def ticket_rows(
    tickets: Iterable[TicketFacts],
    start: datetime,
    end: datetime,
    group_by: tuple[str, ...] = (),
    business: bool = False,
) -> list[dict[str, Any]]:
    """Rows as the read API shows them.

    A ticket counts as created in the group of its creation and as resolved,
    with its handling time, in the group of its final resolution: grouped by
    day, one ticket can count on two days.
    """
    created: dict[tuple[Any, ...], int] = {}
    resolved: dict[tuple[Any, ...], list[TicketFacts]] = {}
    for t in tickets:
        if t.created_at is not None and start <= t.created_at < end:
            k = _key(t, group_by, t.created_at)
            created[k] = created.get(k, 0) + 1
        if t.resolved_at is not None and start <= t.resolved_at < end:
            resolved.setdefault(_key(t, group_by, t.resolved_at), []).append(t)
    keys = set(created) | set(resolved)
    if not group_by:
        keys = {()}
    rows = []
    for k in sorted(keys):  # days are local midnights: no DST ambiguity in their order
        done = resolved.get(k, [])
        row: dict[str, Any] = {}
        for g, v in zip(group_by, k, strict=True):
            row["bucket_start" if g == "day" else g] = rfc3339(v) if g == "day" else v
        row["created"] = created.get(k, 0)
        row["resolved"] = len(done)
        row["handling_time_hours"] = summary(
            [t.handling_hours for t in done if t.handling_hours is not None]
        )
        if business:
            row["business_handling_time_hours"] = summary(
                [t.business_handling_hours for t in done if t.business_handling_hours is not None]
            )
        rows.append(row)
    return rows
