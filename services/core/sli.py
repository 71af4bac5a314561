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
        # Talk time of the answered calls whose source reported it (call.completed);
        # the queue_log has no wrap-up time, so this handle time is talk time only.
        "talked": b.talked,
        "aht_seconds": _ratio(b.talk_ms / 1000, b.talked),
        **asterisk_service_levels(b, thresholds),
    }


def asterisk_service_levels(b: CallBucket, thresholds: tuple[int, ...]) -> dict[str, Any]:
    """Asterisk's own two service levels (queues.conf `servicelevel`, app_queue.c).

    SL  = answered within T / answered (abandons are out of it);
    SL2 = (answered within T + abandoned within T) / (answered + abandoned): an
          abandon within T counts as served in time, a later one as missed.
    Short abandons are in both, as Asterisk counts them; exits (timeout, key,
    empty) are in neither. opstrack's own `service_level` is answered within T /
    (offered - short abandons): every call that waited counts against it.
    """
    within = {t: b.answered_within.get(t, 0) for t in thresholds}
    ab_within = {t: b.abandoned_within.get(t, 0) for t in thresholds}
    return {
        "abandoned_within": {str(t): n for t, n in ab_within.items()},
        "asterisk_sl": {str(t): _ratio(within[t], b.answered) for t in thresholds},
        "asterisk_sl2": {
            str(t): _ratio(within[t] + ab_within[t], b.answered + b.abandoned) for t in thresholds
        },
    }
