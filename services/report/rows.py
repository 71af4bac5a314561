"""The goal tree walked flat: one row per indicator, one pair per board goal.

Every format lists the same rows in the same order, so they walk the tree here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services.core.evaluation import BoardGoalResult, CouncilGoalResult, IndicatorResult
from services.readmodel.goal_model import ReportInput


@dataclass(frozen=True)
class Row:
    council: CouncilGoalResult
    board: BoardGoalResult
    result: IndicatorResult


def indicator_rows(report: ReportInput) -> Iterator[Row]:
    for council in report.evaluation.council_goals:
        for board in council.board_goals:
            for result in board.indicators:
                yield Row(council, board, result)


def board_rows(report: ReportInput) -> Iterator[tuple[CouncilGoalResult, BoardGoalResult]]:
    for council in report.evaluation.council_goals:
        for board in council.board_goals:
            yield council, board
