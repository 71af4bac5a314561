"""Gauges of the goal table for the current year, so Grafana can show it live."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from services.core.catalog import Catalog
from services.core.evaluation import evaluate
from services.core.goals import Goals
from services.core.periods import STOCKHOLM, parse_period
from services.observability import processor_metrics as m
from services.report.build import last_day, observations


def refresh(
    engine: Engine, goals: Goals, catalog: Catalog, thresholds: tuple[int, ...], now: datetime
) -> None:
    period = parse_period(str(now.astimezone(STOCKHOLM).year))
    with engine.connect() as conn:
        obs = observations(conn, goals, catalog, period, now, thresholds)
    result = evaluate(goals, obs, last_day(period))
    m.INDICATOR_VALUE.clear()
    m.INDICATOR_ACHIEVED.clear()
    for council in result.council_goals:
        for board in council.board_goals:
            for r in board.indicators:
                ind = r.indicator.id
                for kind, value in (
                    ("current", r.current),
                    ("forecast", r.forecast),
                    ("target", r.indicator.target.value),
                ):
                    if value is not None:
                        m.INDICATOR_VALUE.labels(ind, kind).set(float(value))
                if r.status is not None:
                    m.INDICATOR_ACHIEVED.labels(ind).set(int(r.status == "achieved"))
