"""The scenario `syd-it-2022`: a year of the seed's IT department as CloudEvents.

Four municipalities (Askersund, Hallsberg, Laxå, Lekeberg) and a shared queue;
servicedesk calls and tickets every open day, the year's changes, incidents and
change freeze, and the controller's monthly indicator values. Calibrated on the
interim report of 31 July 2022 (service level 1 about 78 %, mean handling time
about 25 hours).

Pure and deterministic: every random draw comes from a `random.Random` seeded by
the seed and the day (or the storyline), never from a clock; no I/O. Because each
day has a generator of its own, a shorter window yields exactly the events of the
year that fall in it and whose story starts in it. A window in another year gets
that year's calls and tickets, and 2022's plan and indicator values on the same dates.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from datetime import date
from itertools import count
from typing import Any

from services.simulate.calls import day_calls
from services.simulate.clock import ONE_DAY, Ids, midnight
from services.simulate.indicators import monthly
from services.simulate.storyline import story
from services.simulate.tickets import day_tickets

NAME = "syd-it-2022"


def generate(start: date, end: date, seed: int) -> Iterator[dict[str, Any]]:
    """CloudEvents dicts for the local days start..end (inclusive), in time order."""
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    lo, hi = midnight(start).timestamp(), midnight(end + ONE_DAY).timestamp()
    years = range(start.year, end.year + 1)
    plots = [story(seed, year) for year in years]
    planned = [e for p in plots for e in p.events] + [e for y in years for e in monthly(seed, y)]
    all_bursts = [b for p in plots for b in p.bursts]
    order = count()  # ties at one instant keep the order they were made in
    # A heap holds what is due later: a ticket made today is resolved next week.
    heap = [(t, next(order), e) for t, e in planned if lo <= t < hi]
    heapq.heapify(heap)
    day = start
    while day <= end:
        rnd = random.Random(f"{NAME}:{seed}:{day.isoformat()}")  # noqa: S311 - reproducible, not secret
        ids = Ids(seed, day.strftime("%Y%m%d"))
        bursts = [b for b in all_bursts if midnight(day) <= b.opened < midnight(day + ONE_DAY)]
        for t, e in day_calls(rnd, day, ids) + day_tickets(rnd, day, ids, bursts):
            if t < hi:  # what happens after the window is left out, as if not yet happened
                heapq.heappush(heap, (t, next(order), e))
        # Nothing made on a later day happens before that day, so today is complete.
        tomorrow = midnight(day + ONE_DAY).timestamp()
        while heap and heap[0][0] < tomorrow:
            yield heapq.heappop(heap)[2]
        day += ONE_DAY
