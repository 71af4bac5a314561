"""Indicator values no stream computes (sick leave, staff survey, budget) [topic `indicators`]."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from services.core.contracts.envelope import Data, Envelope, Name

# bool for yes/no indicators such as an environmental certification. No inf or NaN:
# JSON has none, so a stored event holding one would no longer parse.
Value = Annotated[float, Field(allow_inf_nan=False)] | bool


class IndicatorMeasuredData(Data):
    entity = "indicator"
    indicator: Name
    value: Value = Field(description="the measured value (nuvärde); true/false for yes/no")
    as_of: dt.date
    forecast: Value | None = Field(None, description="a forecast (prognos) for the period end")


class IndicatorMeasured(Envelope):
    """The latest event (by time) for an indicator and date wins."""

    type: Literal["indicator.measured"]
    data: IndicatorMeasuredData
