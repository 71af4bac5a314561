"""Summary statistics for SLI figures: mean, median and p90.

Quantiles interpolate linearly between the closest ranks (numpy's default "linear",
Excel's PERCENTILE.INC, Hyndman & Fan type 7), so the figures match what a reader gets
when checking them in a spreadsheet.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

SUMMARY_KEYS = ("mean", "median", "p90")


def summary(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, median and p90; all None when there is nothing to measure (never 0)."""
    if not values:
        return dict.fromkeys(SUMMARY_KEYS)
    return summary_sorted(_sorted_finite(values))


def summary_sorted(ordered: Sequence[float], total: float | None = None) -> dict[str, float | None]:
    """`summary` of values already sorted ascending and checked finite.

    For callers that keep a sorted list as values arrive (a running series), so
    each observation costs no re-sort; such a caller passes `total`, the values'
    `ExactSum`, so it costs no re-summing either.
    """
    if not ordered:
        return dict.fromkeys(SUMMARY_KEYS)
    return {
        # fsum is correctly rounded, so the mean does not depend on the order of values.
        "mean": (math.fsum(ordered) if total is None else total) / len(ordered),
        "median": _quantile_sorted(ordered, 0.5),
        "p90": _quantile_sorted(ordered, 0.9),
    }


class ExactSum:
    """A running sum equal to `math.fsum` of every value added, at any point.

    A finite float is an integer times a power of two no smaller than 2**-1074,
    so the values are kept exactly as one integer count of 2**-1074 units, and
    the true division at the end rounds correctly, as fsum does: the same float,
    at a cost that does not grow with the number of values.
    """

    _SCALE = 1074

    def __init__(self) -> None:
        self._units = 0

    def add(self, x: float) -> None:
        num, den = x.as_integer_ratio()  # den is a power of two
        self._units += num << (self._SCALE - den.bit_length() + 1)

    @property
    def total(self) -> float:
        return self._units / (1 << self._SCALE)


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 <= q <= 1) by linear interpolation; None for no values."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within 0..1, got {q}")
    if not values:
        return None
    return _quantile_sorted(_sorted_finite(values), q)


def check_finite(values: Iterable[float]) -> None:
    """Refuse NaN and infinity loudly: a NaN makes sorting, and so every quantile, meaningless."""
    if not all(math.isfinite(v) for v in values):
        raise ValueError("summary statistics need finite values (no NaN or infinity)")


def _sorted_finite(values: Sequence[float]) -> list[float]:
    check_finite(values)
    return sorted(values)


def _quantile_sorted(ordered: Sequence[float], q: float) -> float:
    h = (len(ordered) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])
