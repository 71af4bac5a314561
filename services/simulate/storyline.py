"""The changes, incidents and freeze of plan_2022 as events, and the tickets users raise
while an incident lasts. The seed moves minutes, not dates.

Any other year replays the same plan on the same dates of that year: the live demo
runs in today's year and should see a change or an incident now and then too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.core.periods import STOCKHOLM
from services.simulate.clock import Ids, Stamped, event, iso
from services.simulate.plan_2022 import CHANGES, FREEZE, INCIDENTS, Change, Incident

CHANGES_SOURCE = "simulate/syd-it-2022/itsm/changes"
INCIDENTS_SOURCE = "simulate/syd-it-2022/itsm/incidents"
PLAN_YEAR = 2022  # the year plan_2022's dates are written in
APPROVER = "förvaltningschef"  # a role: who may let an emergency change through a freeze


@dataclass(frozen=True, slots=True)
class Burst:
    """Tickets users raise about an incident while it lasts."""

    opened: datetime
    resolved: datetime
    category: str
    municipalities: tuple[str, ...]
    tickets: tuple[int, int]  # fewest and most


@dataclass(frozen=True, slots=True)
class Story:
    events: list[Stamped]
    bursts: list[Burst]


def wall(text: str, year: int = PLAN_YEAR) -> datetime:
    """A plan date as UTC, moved to the same local date and time of `year`."""
    local = datetime.fromisoformat(text).replace(year=year, tzinfo=STOCKHOLM)
    # In UTC, so that differences are elapsed time even across a DST change.
    return local.astimezone(UTC)


def story(seed: int, year: int = PLAN_YEAR) -> Story:
    rnd = random.Random(f"syd-it-2022:{seed}:story")  # noqa: S311 - reproducible, not secret
    # Other years get ids of their own, so they are not taken for repeats of 2022.
    ids = Ids(seed, "plan" if year == PLAN_YEAR else f"plan-{year}")
    out: list[Stamped] = []
    change_ids: dict[str, str] = {}
    for c in CHANGES:
        change_ids[c.key] = ids.entity("CHG")
        out += _change(rnd, ids, c, change_ids[c.key], year)
    bursts: list[Burst] = []
    for i in INCIDENTS:
        planned = change_ids[i.planned_work] if i.planned_work else None
        events, burst = _incident(rnd, ids, i, ids.entity("INC"), planned, year)
        out += events
        bursts += [burst] if burst else []
    declared, starts, ends, reason = FREEZE
    data = {
        "freeze_id": ids.entity("FRZ"),
        "starts_at": iso(wall(starts, year)),
        "ends_at": iso(wall(ends, year)),
        "scope": ["*"],
        "reason": reason,
    }
    out.append(event(ids, "freeze.declared", wall(declared, year), CHANGES_SOURCE, data))
    return Story(out, bursts)


def _change(rnd: random.Random, ids: Ids, c: Change, change_id: str, year: int) -> list[Stamped]:
    start = wall(c.at, year)
    # Planned work is booked two weeks ahead; an emergency fix minutes before.
    booked = start - (timedelta(minutes=30) if c.emergency else timedelta(days=14, hours=8))
    ref = {"change_id": change_id, "service": c.service, "emergency": c.emergency}
    plan = ref | {
        "planned_start": iso(start),
        "planned_end": iso(start + timedelta(hours=c.hours)),
        "title": c.title,
    }
    done = start + timedelta(minutes=rnd.randint(0, 20))
    approved = {"exception_approved_by": APPROVER} if c.emergency else {}
    return [
        event(ids, "change.scheduled", booked, CHANGES_SOURCE, plan),
        event(ids, "change.implemented", done, CHANGES_SOURCE, ref | approved),
    ]


def _incident(
    rnd: random.Random, ids: Ids, i: Incident, incident_id: str, planned: str | None, year: int
) -> tuple[list[Stamped], Burst | None]:
    opened = wall(i.at, year) + timedelta(minutes=rnd.randint(0, 10))
    acked = opened + timedelta(minutes=rnd.randint(3, 25))
    resolved = opened + timedelta(minutes=round(60 * rnd.uniform(*i.hours)))
    ref = {"incident_id": incident_id, "service": i.service}
    data: dict[str, object] = ref | {
        "severity": i.severity,
        "impact": i.impact,
        "municipalities": list(i.municipalities),
        "title": i.title,
    }
    if planned is not None:
        data["planned_work"] = planned
    out = [
        event(ids, "incident.opened", opened, INCIDENTS_SOURCE, data),
        event(ids, "incident.acknowledged", acked, INCIDENTS_SOURCE, ref),
    ]
    if i.impact == "outage" and resolved - opened > timedelta(hours=3):
        # A long outage is usually worked around before it is fixed: degraded for the
        # rest. Its severity stays, so it is still one of the period's major incidents.
        eased = opened + (resolved - opened) * 2 / 3
        eased_data = ref | {"impact": "degraded"}
        out.append(event(ids, "incident.updated", eased, INCIDENTS_SOURCE, eased_data))
    out.append(event(ids, "incident.resolved", resolved, INCIDENTS_SOURCE, ref))
    if i.reported_as is None:
        return out, None
    many = (8, 20) if i.severity <= 2 else (3, 8)
    return out, Burst(opened, resolved, i.reported_as, i.municipalities, many)
