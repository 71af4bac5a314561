"""The goal tree walked flat: one row per indicator, one pair per board goal.

Every format lists the same rows in the same order, so they walk the tree here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services.core.evaluation import BoardGoalResult, CouncilGoalResult, IndicatorResult
from services.report.model import ReportInput


@dataclass(frozen=True)
class Row:
    council: CouncilGoalResult
    board: BoardGoalResult
    result: IndicatorResult
    council_index: int = 0  # places in the tree: rows of one goal share them
    board_index: int = 0


def indicator_rows(report: ReportInput) -> Iterator[Row]:
    for ci, council in enumerate(report.evaluation.council_goals):
        for bi, board in enumerate(council.board_goals):
            for result in board.indicators:
                yield Row(council, board, result, ci, bi)


def board_indices(report: ReportInput) -> Iterator[tuple[int, int]]:
    """(council, board goal) places of `board_rows`, in the same order."""
    for ci, council in enumerate(report.evaluation.council_goals):
        for bi, _ in enumerate(council.board_goals):
            yield ci, bi


def board_rows(report: ReportInput) -> Iterator[tuple[CouncilGoalResult, BoardGoalResult]]:
    for council in report.evaluation.council_goals:
        for board in council.board_goals:
            yield council, board
