"""Summary statistics for SLI figures: mean, median and p90.

Quantiles interpolate linearly between the closest ranks (numpy's default "linear",
Excel's PERCENTILE.INC, Hyndman & Fan type 7), so the figures match what a reader gets
when checking them in a spreadsheet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

SUMMARY_KEYS = ("mean", "median", "p90")


def summary(values: Sequence[float]) -> dict[str, float | None]:
    """Mean, median and p90; all None when there is nothing to measure (never 0)."""
    if not values:
        return dict.fromkeys(SUMMARY_KEYS)
    ordered = _sorted_finite(values)
    return {
        # fsum is correctly rounded, so the mean does not depend on the order of values.
        "mean": math.fsum(ordered) / len(ordered),
        "median": _quantile_sorted(ordered, 0.5),
        "p90": _quantile_sorted(ordered, 0.9),
    }


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 <= q <= 1) by linear interpolation; None for no values."""
    if not 0 <= q <= 1:
        raise ValueError(f"quantile must be within 0..1, got {q}")
    if not values:
        return None
    return _quantile_sorted(_sorted_finite(values), q)


def _sorted_finite(values: Sequence[float]) -> list[float]:
    # A NaN makes sorting, and so every quantile, meaningless: refuse it loudly.
    if not all(math.isfinite(v) for v in values):
        raise ValueError("summary statistics need finite values (no NaN or infinity)")
    return sorted(values)


def _quantile_sorted(ordered: Sequence[float], q: float) -> float:
    h = (len(ordered) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo])
