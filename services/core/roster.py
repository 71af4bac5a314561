"""A roster (scheduled agents per half hour) against a staffing plan.

The roster is a CSV file, one row per half hour with agents scheduled, in local
Europe/Stockholm time:

    date,start,agents
    2022-09-05,08:00,6
    2022-09-05,08:30,6

`agents` are heads on the schedule, before shrinkage: those on the phones are
agents x (1 - shrinkage), rounded down (a part of an agent answers no call). For
each interval of the plan the roster gives `rostered`, and the service level and
occupancy that many agents on the phones should give by Erlang C and Erlang A.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date
from typing import Any

from services.core.staffing import erlang_a_performance, erlang_c_performance

_TIME = re.compile(r"([01][0-9]|2[0-3]):(00|30)", re.ASCII)
HALF_HOUR = 1800


class RosterError(ValueError):
    """The roster file is wrong; the message names the line and the field."""


Roster = dict[tuple[str, str], int]  # (ISO date, "HH:MM") -> agents


def parse_roster(text: str) -> Roster:
    """The roster of a CSV text; RosterError naming the line of the first problem."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"date", "start", "agents"} <= {
        f.strip() for f in reader.fieldnames
    }:
        raise RosterError("line 1: expected the columns date,start,agents")
    out: Roster = {}
    for row in reader:
        line = reader.line_num
        cells = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        try:
            day = date.fromisoformat(cells["date"]).isoformat()
        except ValueError:
            raise RosterError(f"line {line}: date {cells['date']!r} is not YYYY-MM-DD") from None
        if not _TIME.fullmatch(cells["start"]):
            raise RosterError(
                f"line {line}: start {cells['start']!r} is not a half hour (HH:00 or HH:30)"
            )
        if not cells["agents"].isdigit():
            raise RosterError(f"line {line}: agents {cells['agents']!r} is not a whole number")
        key = (day, cells["start"])
        if key in out:
            raise RosterError(f"line {line}: {day} {cells['start']} is rostered twice")
        out[key] = int(cells["agents"])
    return out


def apply_roster(plan: dict[str, Any], roster: Roster) -> dict[str, Any]:
    """The plan with `rostered` agents and what they should give, per interval and day."""
    shrinkage = plan["shrinkage"]
    aht, patience, within = plan["aht_seconds"], plan["patience_seconds"], plan["within_seconds"]
    days = []
    for day in plan["days"]:
        intervals = []
        hours = 0.0
        for iv in day["intervals"]:
            n = roster.get((day["date"], iv["start"][11:16]))
            extra: dict[str, Any] = {
                "rostered": n,
                "rostered_erlang_c": None,
                "rostered_erlang_a": None,
            }
            if n is not None:
                hours += n / 2
                on_phones = math.floor(round(n * (1 - shrinkage), 9))
                extra["rostered_on_phones"] = on_phones
                if iv["calls"] > 0 and on_phones == 0:
                    # Calls and no one to answer them: none is answered in time.
                    extra["rostered_erlang_c"] = {"service_level": 0.0, "occupancy": None}
                    extra["rostered_erlang_a"] = extra["rostered_erlang_c"]
                elif iv["calls"] > 0:
                    rate = iv["calls"] / HALF_HOUR
                    c = erlang_c_performance(on_phones, rate, aht, within)
                    extra["rostered_erlang_c"] = {
                        "service_level": c.service_level,
                        "occupancy": min(1.0, c.occupancy),
                    }
                    if patience is not None:
                        a = erlang_a_performance(on_phones, rate, aht, within, patience)
                        extra["rostered_erlang_a"] = {
                            "service_level": a.service_level,
                            "occupancy": a.occupancy,
                        }
            intervals.append(iv | extra)
        days.append(day | {"intervals": intervals, "rostered_hours": hours})
    return plan | {"days": days, "rostered_hours": sum(d["rostered_hours"] for d in days)}
