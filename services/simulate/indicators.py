"""Monthly values of the goal table's indicators that no stream computes.

Each month's value is the year to date, entered on the month's last day; July's
values and the forecasts (prognos) are the interim report's, as of 31 July 2022.
The two stream-fed indicators get the report's hand-made forecasts too: opstrack
computes their values itself and takes only the forecast from what is entered.
Any other year repeats 2022's values (the live demo runs in today's year).
"""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, time

from services.core.periods import STOCKHOLM
from services.simulate.clock import Ids, Stamped, event

SOURCE = "simulate/syd-it-2022/controller"

# Budget deviation in tkr, negative a deficit: licences and consultants drive it to
# -1 412 by July; the action plan brings it back to the forecast -1 000 by December.
BUDGET_TKR = (
    -150.0, -330.0, -540.0, -760.0, -980.0, -1210.0, -1412.0,
    -1390.0, -1330.0, -1240.0, -1130.0, -1000.0,
)  # fmt: skip

# indicator id in config/goals.yaml -> (value January..December, forecast)
MONTHLY: dict[str, tuple[tuple[float | bool, ...], float | bool]] = {
    # Sick leave so far this year: a winter peak wearing off; 7,29 % by the end of July.
    "sjukfranvaro": (
        (0.081, 0.079, 0.077, 0.075, 0.074, 0.0735, 0.0729, 0.0725, 0.072, 0.0716, 0.0712, 0.0708),
        0.07,
    ),
    # The staff survey's engagement score (HME): one survey, the same all year.
    "hme": ((71.0,) * 12, 71.0),
    "budget": (BUDGET_TKR, -1000.0),
    # Management plans adopted, one per management object, nine by midsummer.
    "forvaltningsplaner": ((5.0, 5.0, 6.0, 6.0, 7.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 9.0), 9.0),
    "digitala-moten": ((0.01,) * 12, 0.01),
    "miljodiplomering": ((True,) * 12, True),
    # Stream-fed: the value stands in for the report's nuvärde; only the forecast is used.
    "arendehanteringstid": ((25.0,) * 12, 20.0),
    "serviceniva": ((0.78,) * 12, 0.70),
}


def monthly(seed: int, year: int = 2022) -> list[Stamped]:
    # Other years get ids of their own, so they are not taken for repeats of 2022.
    ids = Ids(seed, "indicators" if year == 2022 else f"indicators-{year}")
    out: list[Stamped] = []
    for month in range(1, 13):
        as_of = date(year, month, monthrange(year, month)[1])
        # Entered by the controller at the end of the month's last day.
        at = datetime.combine(as_of, time(16), tzinfo=STOCKHOLM).astimezone(UTC)
        for indicator, (values, forecast) in MONTHLY.items():
            data = {
                "indicator": indicator,
                "value": values[month - 1],
                "as_of": as_of.isoformat(),
                "forecast": forecast,
            }
            out.append(event(ids, "indicator.measured", at, SOURCE, data))
    return out
