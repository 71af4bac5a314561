"""Gauges of the goal table for the current year, so Grafana can show it live.

Exported by the worker that holds the period-figures lease only (period_metrics).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from services.core.catalog import Catalog
from services.core.evaluation import evaluate, meets
from services.core.goals import Goals
from services.core.periods import STOCKHOLM, parse_period
from services.observability import processor_metrics as m
from services.processor.period_metrics import Sample
from services.readmodel.goals import last_day, observations


def goal_samples(
    engine: Engine, goals: Goals, catalog: Catalog, thresholds: tuple[int, ...], now: datetime
) -> list[Sample]:
    period = parse_period(str(now.astimezone(STOCKHOLM).year))
    with engine.connect() as conn:
        obs = observations(conn, goals, catalog, period, now, thresholds)
    result = evaluate(goals, obs, last_day(period))
    out = []
    for council in result.council_goals:
        for board in council.board_goals:
            for r in board.indicators:
                ind = r.indicator.id
                target = r.indicator.target
                for kind, value in (
                    ("current", r.current),
                    ("forecast", r.forecast),
                    ("target", target.value),
                ):
                    if value is not None:
                        out.append(Sample(m.INDICATOR_VALUE, (ind, kind), float(value)))
                if r.status is not None:
                    out.append(Sample(m.INDICATOR_ACHIEVED, (ind,), int(r.status == "achieved")))
                # On the value measured so far, whatever the forecast (the goals file
                # may judge on it) says: a miss today is worth an alert today.
                if r.current is not None:
                    achieved = int(meets(r.current, target))
                    out.append(Sample(m.INDICATOR_CURRENT_ACHIEVED, (ind,), achieved))
    return out
