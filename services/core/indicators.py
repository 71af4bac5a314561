"""Manually measured indicator values: the latest measurement per indicator and date wins."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from services.core.events import IndicatorMeasured


@dataclass(frozen=True, slots=True)
class IndicatorValue:
    indicator: str
    as_of: dt.date
    value: float | bool
    forecast: float | bool | None
    measured_at: dt.datetime  # the event time of the measurement that won


def latest_values(events: Iterable[IndicatorMeasured]) -> list[IndicatorValue]:
    """One value per (indicator, as_of): the measurement with the latest time (then id).

    A correction sent later replaces the earlier value for that date, whatever
    order the two arrive in.
    """
    best: dict[tuple[str, dt.date], IndicatorMeasured] = {}
    for e in events:
        key = (e.data.indicator, e.data.as_of)
        held = best.get(key)
        if held is None or (e.time, e.id) > (held.time, held.id):
            best[key] = e
    return [
        IndicatorValue(
            indicator=e.data.indicator,
            as_of=e.data.as_of,
            value=e.data.value,
            forecast=e.data.forecast,
            measured_at=e.time,
        )
        for _, e in sorted(best.items())
    ]
