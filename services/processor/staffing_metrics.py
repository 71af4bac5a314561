"""Staffing gauges: the current and next ISO week's plan, for the service desk dashboard.

The worker that holds the `period-figures` lease plans both weeks (Europe/Stockholm)
with exactly what GET /v1/staffing?week=<that week> answers for all queues pooled:
the same store read (calls.staffing_history) and the same plan (plan_week). A week
whose plan has no basis (no calls in any basis week) exports nothing: a figure with
no data is absent, not 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from services.core.calendar import BusinessCalendar
from services.core.staffing_plan import StaffingConfig, plan_week
from services.observability import processor_metrics as m
from services.processor.period_metrics import Sample
from services.store import calls

WEEKS = ("current", "next")
MODELS = ("erlang_c", "erlang_a")


def plan_weeks(now: datetime, cal: BusinessCalendar) -> dict[str, tuple[int, int]]:
    """(ISO year, week) of the current and the next week in the calendar's time zone."""
    today = now.astimezone(cal.tz).date()
    out = {}
    for name, day in zip(WEEKS, (today, today + timedelta(weeks=1)), strict=True):
        iso = day.isocalendar()
        out[name] = (iso.year, iso.week)
    return out


def staffing_samples(
    engine: Engine, cfg: StaffingConfig, cal: BusinessCalendar, now: datetime
) -> list[Sample]:
    """Every staffing gauge's value at `now`; read in a thread, publish on the loop."""
    out: list[Sample] = []
    with engine.connect() as conn:
        for name, (year, week) in plan_weeks(now, cal).items():
            hourly = calls.staffing_history(conn, year, week, cfg, cal)
            out += week_samples(name, plan_week(year, week, hourly, cal, cfg))
    return out


def week_samples(name: str, plan: dict[str, Any]) -> list[Sample]:
    """The samples of one week's plan (plan_week's answer), labelled `week=name`."""
    if plan["basis"]["kind"] == "none":
        return []  # no history to forecast from
    out = []
    for day in plan["days"]:
        for iv in day["intervals"]:
            slot = iv["start"][11:16]  # local HH:MM of the ISO timestamp
            labels = (name, day["weekday"], slot)
            out.append(Sample(m.STAFFING_EXPECTED_CALLS, labels, iv["calls"]))
            out.append(Sample(m.STAFFING_SCHEDULED, labels, iv["scheduled"]))
            for model in MODELS:
                required = _required(iv["calls"], iv[model])
                if required is not None:
                    out.append(Sample(m.STAFFING_REQUIRED, (name, model, *labels[1:]), required))
    return out


def _required(calls: float, perf: dict[str, Any] | None) -> float | None:
    """Agents the model requires; none where no call is expected, absent where the
    model has no answer (Erlang A without a known patience)."""
    if calls <= 0:
        return 0
    return None if perf is None else float(perf["agents"])
