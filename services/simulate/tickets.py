"""One day of servicedesk tickets (ärenden): created in office hours, worked in office hours.

Handling time is drawn as work in open hours and laid onto the business calendar, so
nights, weekends and holidays stretch the calendar time the way they do at a real
servicedesk. The scale is calibrated so that the mean handling time over the tickets
resolved in January-July 2022 lands near the interim report's 25 hours.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from services.simulate.calls import HOURS, MONTH, QUEUES, WEEKDAY
from services.simulate.clock import Ids, Stamped, add_open_time, event, local, open_span
from services.simulate.storyline import Burst

BASE_PER_DAY = 80  # tickets on an ordinary Wednesday
CATEGORIES = {
    "Behörighet": 0.25,
    "Klient": 0.30,
    "E-tjänst": 0.10,
    "Telefoni": 0.10,
    "Nätverk": 0.07,
    "Övrigt": 0.18,
}
PRIORITIES = {1: 0.01, 2: 0.07, 3: 0.80, 4: 0.12}
# Median hours of work in open hours per priority; a lognormal spread around it.
MEDIAN_WORK_HOURS = {2: 1.5, 3: 2.6, 4: 6.0}
SPREAD = 1.3
PAUSED = 0.12  # waiting for the user or a supplier
REOPENED = 0.03  # the user reports that the problem is still there
CLOSE_AFTER = timedelta(days=5)  # resolved tickets close themselves after five days
SOURCE = "simulate/syd-it-2022/itsm/servicedesk"


def day_tickets(
    rnd: random.Random, day: date, ids: Ids, bursts: Iterable[Burst] = ()
) -> list[Stamped]:
    out: list[Stamped] = []
    if open_span(day) is not None:
        mean = BASE_PER_DAY * WEEKDAY[day.weekday()] * MONTH[day.month - 1]
        for _ in range(max(0, round(rnd.gauss(mean, 1.5 * mean**0.5)))):
            hour = rnd.choices(range(len(HOURS)), HOURS)[0]
            created = local(day, 8 + hour, rnd.randrange(3600))
            category = rnd.choices(list(CATEGORIES), list(CATEGORIES.values()))[0]
            priority = rnd.choices(list(PRIORITIES), list(PRIORITIES.values()))[0]
            municipality = rnd.choices(QUEUES, [q[2] for q in QUEUES])[0][1]
            data = _data(ids, category, priority, municipality)
            out += _lifecycle(rnd, ids, data, created, priority)
    for burst in bursts:
        # Users report an outage as it happens; the tickets are resolved with it.
        for _ in range(rnd.randint(*burst.tickets)):
            # Within the first ninety minutes of open hours (an outage at 19:00 is
            # reported when people come in the next morning).
            created = add_open_time(burst.opened, rnd.randrange(60, 5400))
            resolved = max(burst.resolved, created) + timedelta(seconds=rnd.randrange(300, 3600))
            data = _data(ids, burst.category, 2, rnd.choice(burst.municipalities))
            out.append(event(ids, "ticket.created", created, SOURCE, data))
            out.append(event(ids, "ticket.resolved", resolved, SOURCE, data))
            out.append(event(ids, "ticket.closed", resolved + CLOSE_AFTER, SOURCE, data))
    return out


def _data(ids: Ids, category: str, priority: int, municipality: str) -> dict[str, object]:
    return {
        "ticket_id": ids.entity("SD"),
        "category": category,
        "priority": priority,
        "municipality": municipality,
    }


def _work(rnd: random.Random, priority: int) -> float:
    """Seconds of work in open hours."""
    return 3600 * MEDIAN_WORK_HOURS[priority] * rnd.lognormvariate(0, SPREAD)


def _lifecycle(
    rnd: random.Random, ids: Ids, data: dict[str, object], created: datetime, priority: int
) -> list[Stamped]:
    steps: list[tuple[str, datetime]] = [("ticket.created", created)]
    if priority == 1:
        # Priority 1 is worked around the clock until it is solved.
        resolved = created + timedelta(seconds=round(rnd.uniform(1800, 4 * 3600)))
    else:
        work = _work(rnd, priority)
        if rnd.random() < PAUSED:
            done = rnd.uniform(0.1, 0.6) * work
            paused = add_open_time(created, done)
            resumed = add_open_time(paused, rnd.uniform(4, 30) * 3600)
            steps += [("ticket.paused", paused), ("ticket.resumed", resumed)]
            resolved = add_open_time(resumed, work - done)
        else:
            resolved = add_open_time(created, work)
    steps.append(("ticket.resolved", resolved))
    if rnd.random() < REOPENED:
        reopened = add_open_time(resolved, rnd.uniform(2, 20) * 3600)
        if reopened < resolved + CLOSE_AFTER:  # a closed ticket is not reopened
            resolved = add_open_time(reopened, _work(rnd, 3) / 2)
            steps += [("ticket.reopened", reopened), ("ticket.resolved", resolved)]
    steps.append(("ticket.closed", resolved + CLOSE_AFTER))
    return [event(ids, kind, at, SOURCE, data) for kind, at in steps]
