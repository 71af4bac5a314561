"""Indicator values: the latest per indicator and date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Connection, select

from services.core.indicators import IndicatorValue
from services.store.db import from_us, upsert, us
from services.store.tables import IndicatorValueRow

VALUES = IndicatorValueRow.__table__  # type: ignore[attr-defined]


def save(conn: Connection, values: Iterable[IndicatorValue]) -> None:
    rows = [
        {
            "indicator": v.indicator,
            "as_of": v.as_of.isoformat(),
            "value": float(v.value),
            "is_boolean": isinstance(v.value, bool),
            "forecast": None if v.forecast is None else float(v.forecast),
            "measured_at_us": us(v.measured_at),
        }
        for v in values
    ]
    upsert(conn, VALUES, rows, ["indicator", "as_of"])


def all_values(conn: Connection, indicator: str | None = None) -> list[IndicatorValue]:
    query = select(VALUES).order_by(VALUES.c.indicator, VALUES.c.as_of)
    if indicator is not None:
        query = query.where(VALUES.c.indicator == indicator)
    out = []
    for r in conn.execute(query):
        value: float | bool = bool(r.value) if r.is_boolean else r.value
        forecast: float | bool | None = r.forecast
        if r.is_boolean and forecast is not None:
            forecast = bool(forecast)
        measured = from_us(r.measured_at_us)
        assert measured is not None  # noqa: S101 - the column is NOT NULL
        out.append(
            IndicatorValue(r.indicator, dt.date.fromisoformat(r.as_of), value, forecast, measured)
        )
    return out
