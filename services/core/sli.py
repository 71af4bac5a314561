"""Service-level indicators computed from buckets, exactly as docs/definitions.md defines them.

A figure with nothing to measure is None (null in JSON), never 0.
"""

from __future__ import annotations

from typing import Any

from services.core.calls import CallBucket


def _ratio(num: int | float, den: int | float) -> float | None:
    return num / den if den > 0 else None


def call_figures(b: CallBucket, thresholds: tuple[int, ...]) -> dict[str, Any]:
    """The call SLI row of the read API for one (merged) bucket."""
    # Short abandons hung up before anyone could answer: they count in neither
    # the numerator nor the denominator of service level and abandon rate.
    considered = b.offered - b.short_abandoned
    within = {str(t): b.answered_within.get(t, 0) for t in thresholds}
    return {
        "offered": b.offered,
        "answered": b.answered,
        "abandoned": b.abandoned,
        "short_abandoned": b.short_abandoned,
        "exited": b.exited,
        "answered_within": within,
        "service_level": {t: _ratio(n, considered) for t, n in within.items()},
        "abandon_rate": _ratio(b.abandoned - b.short_abandoned, considered),
        "asa_seconds": _ratio(b.wait_answered_ms / 1000, b.answered),
        "avg_wait_seconds": _ratio(b.wait_offered_ms / 1000, b.offered),
    }
