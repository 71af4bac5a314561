"""An independent reference for the call SLIs, written from docs/definitions.md#calls, for tests only.

It works on raw event dicts with plain Python and `datetime`, without the
bucket, fold or store code of opstrack, so a test can compare what opstrack
shows with what the definitions say.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.builders import call, envelope, incident_data, ticket_data

TZ = ZoneInfo("Europe/Stockholm")
TERMINAL = {"call.answered", "call.abandoned", "call.exited"}


def call_event(
    i: int,
    kind: str,
    at: datetime,
    queue: str,
    muni: str,
    wait: float | None,
    reason: str = "timeout",
) -> dict[str, Any]:
    return call(
        kind, f"call-{i}", queue, muni, wait=wait, reason=reason, id=f"evt-{kind}-{i}", time=at
    )


def generate_calls(n: int, seed: int, start: datetime, hours: int) -> list[dict[str, Any]]:
    """n calls over `hours` hours from `start` in five queues: a queued and an ending event each."""
    rnd = random.Random(seed)
    queues = [
        ("askersund", "Askersund"),
        ("hallsberg", "Hallsberg"),
        ("laxa", "Laxå"),
        ("lekeberg", "Lekeberg"),
        ("gemensam", "shared"),
    ]
    out = []
    for i in range(n):
        queue, muni = rnd.choice(queues)
        entered = start + timedelta(seconds=rnd.uniform(0, hours * 3600))
        kind = rnd.choices(["call.answered", "call.abandoned", "call.exited"], [70, 22, 8])[0]
        if kind == "call.abandoned" and rnd.random() < 0.3:
            wait = round(rnd.uniform(0, 4.999), 3)  # a short abandon
        else:
            wait = round(rnd.choice([rnd.uniform(0, 20), rnd.uniform(0, 90), 20.0, 60.0]), 3)
        out.append(call_event(i, "call.queued", entered, queue, muni, None))
        reason = rnd.choice(["timeout", "key", "empty", "full", "closed"])
        out.append(
            call_event(i, kind, entered + timedelta(seconds=wait), queue, muni, wait, reason)
        )
    return out


def expected_calls(
    events: Iterable[dict[str, Any]],
    period: tuple[datetime, datetime],
    group_by: tuple[str, ...] = (),
    short_abandon: float = 5.0,
    thresholds: tuple[int, ...] = (20, 60),
) -> list[dict[str, Any]]:
    """API rows for the events, per docs/definitions.md, computed from scratch."""
    seen: dict[str, dict[str, Any]] = {}
    for e in events:
        seen.setdefault(e["id"], e)
    groups: dict[tuple[Any, ...], list[tuple[str, float]]] = defaultdict(list)
    talks: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for e in seen.values():
        if e["type"] not in TERMINAL and e["type"] != "call.completed":
            continue
        wait = float(e["data"]["wait_seconds"])
        talk = float(e["data"].get("talk_seconds", 0))
        # The entry time: as logged (entered_at), else back from the end by the wait
        # (and, for a finished conversation, its talk time too).
        logged = e["data"].get("entered_at")
        if logged:
            entered = datetime.fromisoformat(logged)
        else:
            entered = datetime.fromisoformat(e["time"]) - timedelta(seconds=wait + talk)
        if not (period[0] <= entered < period[1]):
            continue
        parts: list[Any] = []
        for g in group_by:
            if g == "hour":
                # A UTC hour is a local hour (whole-hour offsets), and a UTC key
                # keeps the two 02:00 hours of the autumn DST change apart.
                parts.append(entered.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
            elif g == "day":
                local = entered.astimezone(TZ)
                parts.append(datetime(local.year, local.month, local.day, tzinfo=TZ))
            else:
                parts.append(e["data"][g])
        if e["type"] == "call.completed":
            talks[tuple(parts)].append(talk)  # a talk time; the call itself counts once, above
            continue
        groups[tuple(parts)].append((e["type"], wait))
    if not group_by and not groups:
        groups[()] = []
    rows = []
    for key in sorted(groups):
        calls = groups[key]
        offered = len(calls)
        answered = [w for t, w in calls if t == "call.answered"]
        abandoned = [w for t, w in calls if t == "call.abandoned"]
        short = sum(1 for w in abandoned if w < short_abandon)
        considered = offered - short
        within = {str(t): sum(1 for w in answered if w <= t) for t in thresholds}
        row: dict[str, Any] = {}
        for g, v in zip(group_by, key, strict=True):
            row["bucket_start" if g in ("hour", "day") else g] = (
                v.astimezone(TZ).isoformat() if isinstance(v, datetime) else v
            )
        row |= {
            "offered": offered,
            "answered": len(answered),
            "abandoned": len(abandoned),
            "short_abandoned": short,
            "exited": sum(1 for t, _ in calls if t == "call.exited"),
            "answered_within": within,
            "service_level": {
                t: (n / considered if considered else None) for t, n in within.items()
            },
            "abandon_rate": (len(abandoned) - short) / considered if considered else None,
            "asa_seconds": sum(answered) / len(answered) if answered else None,
            "avg_wait_seconds": sum(w for _, w in calls) / offered if offered else None,
            # Answered calls whose talk time is known (call.completed) and its mean.
            "talked": len(talks[key]),
            "aht_seconds": sum(talks[key]) / len(talks[key]) if talks[key] else None,
        }
        # Asterisk's SL and SL2 (README, "What the numbers mean").
        ab_within = {str(t): sum(1 for w in abandoned if w <= t) for t in thresholds}
        ended = len(answered) + len(abandoned)
        row |= {
            "abandoned_within": ab_within,
            "asterisk_sl": {t: n / len(answered) if answered else None for t, n in within.items()},
            "asterisk_sl2": {
                t: (n + ab_within[t]) / ended if ended else None for t, n in within.items()
            },
        }
        rows.append(row)
    return rows


# The figures of a period without calls, by hand: the counts 0, every ratio and mean
# None (no data is no figure, never 0), for the thresholds 20 and 60 s.
NO_CALLS: dict[str, Any] = {
    "offered": 0,
    "answered": 0,
    "abandoned": 0,
    "short_abandoned": 0,
    "exited": 0,
    "answered_within": {"20": 0, "60": 0},
    "service_level": {"20": None, "60": None},
    "abandon_rate": None,
    "asa_seconds": None,
    "avg_wait_seconds": None,
    "talked": 0,
    "aht_seconds": None,
    "abandoned_within": {"20": 0, "60": 0},
    "asterisk_sl": {"20": None, "60": None},
    "asterisk_sl2": {"20": None, "60": None},
}


def assert_rows_equal(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Counts exactly; ratios and means to 1e-9 (the API divides the same integers)."""
    assert len(got) == len(want), f"{len(got)} rows, expected {len(want)}"
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for k, v in w.items():
            if isinstance(v, float):
                assert g[k] is not None and abs(g[k] - v) < 1e-9, (k, g[k], v)
            elif isinstance(v, dict):
                for t, x in v.items():
                    if isinstance(x, float):
                        assert g[k][t] is not None and abs(g[k][t] - x) < 1e-9, (k, t, g[k][t], x)
                    else:
                        assert g[k][t] == x, (k, t, g[k][t], x)
            else:
                assert g[k] == v, (k, g[k], v)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- tickets and incidents: generators and the period totals the read API shows ----------


def generate_tickets(n: int, seed: int, start: datetime, hours: int) -> list[dict[str, Any]]:
    """n tickets created within `hours` of `start`, at whole minutes: paused and resumed
    0-2 times, 80 % resolved, half of those closed; no reopens (kept simple on purpose)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        data = ticket_data(
            f"SD-{i:06d}",
            category=rnd.choice(["Behörighet", "Skrivare", "E-post", "Telefoni"]),
            priority=rnd.randint(1, 4),
            municipality=rnd.choice(["Askersund", "Hallsberg", "Laxå", "Lekeberg"]),
        )
        t = start + timedelta(minutes=rnd.randrange(hours * 60))
        steps = [("ticket.created", t)]
        for _ in range(rnd.choice([0, 0, 1, 2])):
            t += timedelta(minutes=rnd.randrange(1, 600))
            steps.append(("ticket.paused", t))
            t += timedelta(minutes=rnd.randrange(1, 600))
            steps.append(("ticket.resumed", t))
        if rnd.random() < 0.8:
            t += timedelta(minutes=rnd.randrange(1, 3000))
            steps.append(("ticket.resolved", t))
            if rnd.random() < 0.5:
                t += timedelta(minutes=rnd.randrange(1, 600))
                steps.append(("ticket.closed", t))
        out += [
            envelope(k, data, id=f"{data['ticket_id']}:{j}:{k}", time=at)
            for j, (k, at) in enumerate(steps)
        ]
    return out


def generate_incidents(n: int, seed: int, start: datetime, hours: int) -> list[dict[str, Any]]:
    """n incidents opened within `hours` of `start`: 90 % acknowledged, 80 % resolved."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        ref = incident_data(f"INC-{i:05d}", rnd.choice(["network", "m365", "mdm"]))
        opened = start + timedelta(minutes=rnd.randrange(hours * 60))
        data = ref | {
            "severity": rnd.randint(1, 4),
            "impact": rnd.choice(["outage", "degraded"]),
            "municipalities": rnd.sample(["Askersund", "Hallsberg", "Laxå", "Lekeberg"], 2),
        }
        out.append(
            envelope("incident.opened", data, id=f"{ref['incident_id']}:opened", time=opened)
        )
        t = opened
        if rnd.random() < 0.9:
            t += timedelta(minutes=rnd.randrange(1, 120))
            ack = envelope("incident.acknowledged", ref, id=f"{ref['incident_id']}:ack", time=t)
            out.append(ack)
        if rnd.random() < 0.8:
            t += timedelta(minutes=rnd.randrange(1, 600))
            end = envelope("incident.resolved", ref, id=f"{ref['incident_id']}:resolved", time=t)
            out.append(end)
    return out


def expected_incidents(
    events: Iterable[dict[str, Any]], period: tuple[datetime, datetime]
) -> list[dict[str, Any]]:
    """The ungrouped /v1/sli/incidents row of generate_incidents' events: MTTA over those
    acknowledged in the period, MTTR over those resolved in it, in minutes."""
    times: dict[str, dict[str, datetime]] = defaultdict(dict)
    for e in {e["id"]: e for e in events if e["type"].startswith("incident.")}.values():
        times[e["data"]["incident_id"]][e["type"]] = datetime.fromisoformat(e["time"])

    def within(t: datetime | None) -> bool:
        return t is not None and period[0] <= t < period[1]

    opened = [i for i in times.values() if within(i.get("incident.opened"))]
    acked = [i for i in times.values() if within(i.get("incident.acknowledged"))]
    resolved = [i for i in times.values() if within(i.get("incident.resolved"))]
    to_ack = [
        (i["incident.acknowledged"] - i["incident.opened"]).total_seconds() / 60 for i in acked
    ]
    to_fix = [
        (i["incident.resolved"] - i["incident.opened"]).total_seconds() / 60 for i in resolved
    ]
    return [
        {
            "opened": len(opened),
            "resolved": len(resolved),
            "mtta_minutes": statistics.fmean(to_ack) if to_ack else None,
            "mttr_minutes": statistics.fmean(to_fix) if to_fix else None,
            # Downtime belongs to a service: null on a row that names none.
            "downtime_minutes": None,
            "own_downtime_minutes": None,
            "inherited_downtime_minutes": None,
            "downtime_via": None,
            "availability": None,
        }
    ]
