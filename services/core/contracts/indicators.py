"""Indicator values no stream computes (sick leave, staff survey, budget) [topic `indicators`]."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from services.core.contracts.envelope import Data, Envelope, Name

Value = float | bool  # bool for yes/no indicators such as an environmental certification


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
