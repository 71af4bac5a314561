"""Tests for services.core.stats: mean, median and p90 by linear interpolation.

Expected values are worked by hand, and the property test compares with the standard
library's `statistics`, whose "inclusive" quantile method is the same interpolation
between closest ranks (numpy's default, Excel's PERCENTILE.INC).
"""

from __future__ import annotations

import math
import random
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.stats import ExactSum, quantile, summary


def test_hand_worked_five_values() -> None:
    # sorted 1 2 3 4 10: mean 20/5 = 4; median the 3rd value = 3;
    # p90 at rank (5-1)*0.9 = 3.6 -> 4 + 0.6 * (10 - 4) = 7.6
    out = summary([10, 3, 1, 4, 2])
    assert out["mean"] == 4
    assert out["median"] == 3
    assert out["p90"] == pytest.approx(7.6)


def test_even_count_median_is_the_midpoint() -> None:
    # 2 4 6 8: median at rank 1.5 -> 5; p90 at rank 2.7 -> 6 + 0.7 * 2 = 7.4
    out = summary([8.0, 2.0, 6.0, 4.0])
    assert out == {"mean": 5.0, "median": 5.0, "p90": pytest.approx(7.4)}


def test_two_values() -> None:
    # 0 10: p90 at rank 0.9 -> 9
    assert summary([0, 10]) == {"mean": 5, "median": 5, "p90": pytest.approx(9)}


def test_one_value_is_every_figure() -> None:
    assert summary([2.5]) == {"mean": 2.5, "median": 2.5, "p90": 2.5}


def test_nothing_to_measure_is_null_not_zero() -> None:
    assert summary([]) == {"mean": None, "median": None, "p90": None}
    assert quantile([], 0.5) is None


def test_quantile_ends_are_min_and_max() -> None:
    assert quantile([3, 1, 2], 0) == 1
    assert quantile([3, 1, 2], 1) == 3


@pytest.mark.parametrize("q", [-0.1, 1.5])
def test_quantile_outside_0_1_is_refused(q: float) -> None:
    with pytest.raises(ValueError, match=r"0\.\.1"):
        quantile([1, 2], q)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_values_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        summary([1.0, bad])


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.lists(finite, min_size=2, max_size=60))
def test_matches_the_standard_library(values: list[float]) -> None:
    out = summary(values)
    assert out["mean"] == pytest.approx(statistics.fmean(values), abs=1e-6)
    assert out["median"] == pytest.approx(statistics.median(values), abs=1e-6)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
    assert out["p90"] == pytest.approx(p90, abs=1e-6)


@given(st.lists(finite, min_size=1, max_size=60), st.randoms())
def test_order_of_values_does_not_matter(values: list[float], rnd: random.Random) -> None:
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert summary(shuffled) == summary(values)


@given(st.lists(finite, min_size=1, max_size=60))
def test_figures_lie_between_min_and_max(values: list[float]) -> None:
    out = summary(values)
    for key in ("median", "p90"):
        value = out[key]
        assert value is not None
        assert min(values) <= value <= max(values)


@given(
    st.lists(
        st.floats(min_value=-1e300, max_value=1e300, allow_nan=False)
        | st.floats(min_value=-1e-300, max_value=1e-300, allow_nan=False),
        max_size=40,
    )
)
def test_exact_sum_is_fsum_at_every_step(values: list[float]) -> None:
    running = ExactSum()
    for i, v in enumerate(values):
        running.add(v)
        assert running.total == math.fsum(values[: i + 1])


def test_exact_sum_keeps_what_plain_addition_loses() -> None:
    # 1e16 + 1 + 1 - 1e16: float addition drops each 1 (ulp of 1e16 is 2), the exact sum is 2.
    running = ExactSum()
    for v in (1e16, 1.0, 1.0, -1e16):
        running.add(v)
    assert running.total == 2.0
