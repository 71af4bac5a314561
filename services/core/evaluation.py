"""Judging the goal table: nuvärde, prognos and status of each indicator, and the roll-up.

Rules (docs/definitions.md#goals-mer):

- An indicator's observations are those inside the period; the caller filters them.
- Current value (nuvärde): the value of the latest observation by `as_of` (of several
  on one day, the last given).
- Forecast (prognos) for the period end, by the indicator's `forecast` method:
  `last`: the current value; `linear`: the least-squares line through the numeric
  observations (value on day), read at `period_end`, the last day of the period;
  `manual`: the forecast of the latest observation that has one, else the current value.
- Status: achieved or not achieved, judged on the forecast, or on the current value
  when the goals file (`judge_on`) or the caller says so; None when that value is missing.
  A value of the wrong kind (yes/no against a number target, or the reverse) does not
  meet its target.
- A board goal is achieved when all its judged indicators are, not achieved when none
  is, else partially; indicators with no status are left out, and with none judged the
  board goal has no status either. A council goal rolls up its board goals the same
  way: achieved only if all are achieved, not achieved only if all are not achieved,
  else partially. The overall status rolls up all board goals the same way, and
  `counts` counts board goals by status.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.core.goals import BoardGoal, CouncilGoal, Goals, Indicator, Target, Value

Status = Literal["achieved", "not_achieved"]
Rollup = Literal["achieved", "not_achieved", "partially"]


@dataclass(frozen=True)
class Observation:
    as_of: date
    value: Value
    forecast: Value | None = None  # a forecast entered by hand, used by `manual`


@dataclass(frozen=True)
class IndicatorResult:
    indicator: Indicator
    current: Value | None
    forecast: Value | None
    status: Status | None  # None: nothing to judge


@dataclass(frozen=True)
class BoardGoalResult:
    goal: BoardGoal
    indicators: tuple[IndicatorResult, ...]
    status: Rollup | None


@dataclass(frozen=True)
class CouncilGoalResult:
    goal: CouncilGoal
    board_goals: tuple[BoardGoalResult, ...]
    status: Rollup | None


@dataclass(frozen=True)
class Evaluation:
    council_goals: tuple[CouncilGoalResult, ...]
    status: Rollup | None
    counts: dict[str, int]  # board goals by status; those with no status are not counted


def linear_forecast(points: Sequence[tuple[date, float]], at: date) -> float | None:
    """Ordinary least squares of value on day number, read at `at`.

    One point (or all on one day, where no slope exists) gives their mean; none gives None.
    """
    if not points:
        return None
    # Day numbers relative to the first point keep the sums small and exact.
    origin = points[0][0].toordinal()
    xs = [d.toordinal() - origin for d, _ in points]
    ys = [float(v) for _, v in points]
    mean_x = math.fsum(xs) / len(xs)
    mean_y = math.fsum(ys) / len(ys)
    sxx = math.fsum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return mean_y
    sxy = math.fsum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return mean_y + sxy / sxx * (at.toordinal() - origin - mean_x)


def meets(value: Value, target: Target) -> bool:
    """Whether `value` meets `target`: at_most <=, at_least >=, increase_from >, equals ==."""
    t = target.value
    # bool is an int in Python (True == 1.0); a yes/no never meets a number target.
    if isinstance(value, bool) or isinstance(t, bool):
        both = isinstance(value, bool) and isinstance(t, bool)
        return both and target.rule == "equals" and value == t
    if target.rule == "at_most":
        return value <= t
    if target.rule == "at_least":
        return value >= t
    if target.rule == "increase_from":
        return value > t
    # Relative tolerance, so a figure computed in floating point still equals a round target.
    return math.isclose(value, t, rel_tol=1e-9)


def evaluate(
    goals: Goals,
    observations: Mapping[str, Sequence[Observation]],
    period_end: date,
    judge_on: Literal["forecast", "current"] | None = None,
) -> Evaluation:
    """The goal table judged from each indicator's observations (keyed by indicator id)."""
    on = judge_on or goals.judge_on
    councils = []
    for council in goals.council_goals:
        boards = []
        for board in council.board_goals:
            results = tuple(
                _indicator(ind, observations.get(ind.id, ()), period_end, on)
                for ind in board.indicators
            )
            boards.append(BoardGoalResult(board, results, _roll(r.status for r in results)))
        councils.append(CouncilGoalResult(council, tuple(boards), _roll(b.status for b in boards)))
    all_boards = [b.status for c in councils for b in c.board_goals]
    counts = {s: all_boards.count(s) for s in ("achieved", "not_achieved", "partially")}
    return Evaluation(tuple(councils), _roll(all_boards), counts)


def _indicator(
    ind: Indicator,
    obs: Sequence[Observation],
    period_end: date,
    on: Literal["forecast", "current"],
) -> IndicatorResult:
    # A stable sort keeps the given order within a day, so the last given wins it.
    ordered = sorted(obs, key=lambda o: o.as_of)
    current = ordered[-1].value if ordered else None
    forecast: Value | None = current
    if ind.forecast == "linear":
        numeric = [(o.as_of, o.value) for o in ordered if not isinstance(o.value, bool)]
        forecast = linear_forecast(numeric, period_end)
    elif ind.forecast == "manual":
        entered = [o.forecast for o in ordered if o.forecast is not None]
        if entered:
            forecast = entered[-1]
    judged = forecast if on == "forecast" else current
    status: Status | None = None
    if judged is not None:
        status = "achieved" if meets(judged, ind.target) else "not_achieved"
    return IndicatorResult(ind, current, forecast, status)


def _roll(statuses: Iterable[str | None]) -> Rollup | None:
    judged = {s for s in statuses if s is not None}
    if not judged:
        return None
    if judged == {"achieved"}:
        return "achieved"
    if judged == {"not_achieved"}:
        return "not_achieved"
    return "partially"
