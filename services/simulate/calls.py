"""One day of servicedesk calls in the five queues of SYD-IT (the seed's department).

The figures are calibrated so that January-July 2022 lands near the interim report:
78 % of calls answered within 20 s (service level 1) and about 90 % within 60 s
(service level 2), as docs/definitions.md#short-abandons defines it (short abandons left out).
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

from services.simulate.clock import Ids, Stamped, event, iso, local, open_span

# (queue, municipality, share of the calls): the shares follow the municipalities'
# sizes; the shared queue takes what concerns all four (M365, e-services, MDM).
QUEUES = (
    ("askersund", "Askersund", 0.22),
    ("hallsberg", "Hallsberg", 0.28),
    ("laxa", "Laxå", 0.12),
    ("lekeberg", "Lekeberg", 0.16),
    ("gemensam", "shared", 0.22),
)
BASE_PER_DAY = 190  # calls on an ordinary Wednesday, all queues together
# Mondays bring the weekend's problems; Fridays are quiet.
WEEKDAY = (1.25, 1.05, 1.0, 0.95, 0.8)
# Busy late spring and early summer (the report's "hög intensitet"), a quiet July.
MONTH = (1.05, 1.0, 1.0, 0.95, 1.05, 1.0, 0.55, 0.95, 1.05, 1.0, 1.0, 0.85)
# Share of the day's calls entering in each office hour, 08 to 16.
HOURS = (0.13, 0.16, 0.14, 0.10, 0.09, 0.11, 0.11, 0.09, 0.07)

# Answer times. At average load this share of answered calls is picked up within
# 20 s; it drops when the queue is busier than average and rises when it is quieter.
FAST_SHARE = 0.832
LOAD_EFFECT = 0.07
WITHIN_60 = 0.75  # of the calls not answered within 20 s, answered within 60 s
ABANDON = 0.06  # share of calls the caller hangs up on ...
SHORT_ABANDON = 0.33  # ... of which so soon (under 5 s) that no one could have answered
EXIT_KEY = 0.015  # caller pressed a key to leave a call-back request instead
EXIT_TIMEOUT = 0.004  # the queue's longest wait ran out
MAX_WAIT = 300  # the longest a call stays in a queue, seconds
# Talk times of answered calls: log-normal, median about 4 minutes, mean about
# 5 (a servicedesk's password resets are quick, its client problems are not).
TALK_MEDIAN = 240
TALK_SIGMA = 0.65
TALK_MIN, TALK_MAX = 20, 3600


def day_calls(rnd: random.Random, day: date, ids: Ids) -> list[Stamped]:
    span = open_span(day)
    if span is None:
        return []
    factor = WEEKDAY[day.weekday()] * MONTH[day.month - 1]
    mean = BASE_PER_DAY * factor
    count = max(0, round(rnd.gauss(mean, 1.5 * mean**0.5)))
    out: list[Stamped] = []
    for _ in range(count):
        hour = rnd.choices(range(len(HOURS)), HOURS)[0]
        entered = local(day, 8 + hour, rnd.randrange(3600))
        # How much busier than an average hour of an average day this hour is.
        load = factor * HOURS[hour] * len(HOURS)
        kind, wait, reason = _outcome(rnd, load)
        if entered + timedelta(seconds=wait) > span[1]:
            # Still waiting when the queue closes at 17: the PBX ends the stay.
            kind, wait, reason = "call.exited", int((span[1] - entered).total_seconds()), "closed"
        queue, municipality, _ = rnd.choices(QUEUES, [q[2] for q in QUEUES])[0]
        # The PBX's own id: a day and a sequence number, never the caller's number.
        base = {"call_id": ids.entity("CALL"), "queue": queue, "municipality": municipality}
        source = f"simulate/syd-it-2022/pbx/{queue}"
        out.append(event(ids, "call.queued", entered, source, base))
        end = base | {"wait_seconds": wait} | ({"reason": reason} if reason else {})
        ended = event(ids, kind, entered + timedelta(seconds=wait), source, end)
        out.append(ended)
        if kind == "call.answered":
            out.append(_completed(ended, entered, wait, base, source))
    return out


def _completed(
    answered: Stamped, entered: datetime, wait: int, base: dict[str, str], source: str
) -> Stamped:
    """The answered call's talk time (call.completed), drawn from a generator of its own.

    Its own generator and an id derived from the answered event's: the day's other
    draws and ids stay exactly as they were before talk times were simulated.
    """
    answered_id = answered[1]["id"]
    rnd = random.Random(f"talk:{answered_id}")  # noqa: S311 - reproducible, not secret
    median = math.log(TALK_MEDIAN)
    talk = min(TALK_MAX, max(TALK_MIN, round(rnd.lognormvariate(median, TALK_SIGMA))))
    at = entered + timedelta(seconds=wait + talk)
    data = base | {"wait_seconds": wait, "talk_seconds": talk}
    body = {
        "specversion": "1.0",
        "id": f"{answered_id}-talk",
        "source": source,
        "type": "call.completed",
        "time": iso(at),
        "data": data,
    }
    return at.timestamp(), body


def _outcome(rnd: random.Random, load: float) -> tuple[str, int, str | None]:
    u = rnd.random()
    abandon = ABANDON * (0.5 + 0.5 * load)  # busy queues lose more callers
    if u < abandon:
        if rnd.random() < SHORT_ABANDON:
            return "call.abandoned", rnd.randint(0, 4), None
        return "call.abandoned", min(MAX_WAIT - 1, 5 + round(rnd.expovariate(1 / 40))), None
    u -= abandon
    if u < EXIT_KEY:
        return "call.exited", min(MAX_WAIT - 1, 30 + round(rnd.expovariate(1 / 60))), "key"
    if u < EXIT_KEY + EXIT_TIMEOUT:
        return "call.exited", MAX_WAIT, "timeout"
    return "call.answered", _answer_wait(rnd, load), None


def _answer_wait(rnd: random.Random, load: float) -> int:
    fast = min(0.97, max(0.5, FAST_SHARE - LOAD_EFFECT * (load - 1)))
    if rnd.random() < fast:
        return round(rnd.triangular(1, 20, 6))
    if rnd.random() < WITHIN_60:
        return round(rnd.triangular(21, 60, 25))
    return min(MAX_WAIT - 1, 61 + round(rnd.expovariate(1 / 50)))
