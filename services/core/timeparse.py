"""Times and durations as exports write them: local wall-clock times and seconds.

Shared by the CSV mapping and the webhook mapping, which both read times that
may carry no UTC offset and must agree on what such a time means.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from services.core.contracts.envelope import plausible

Ambiguous = Literal["reject", "earlier", "later"]


def localize(t: datetime, tz: ZoneInfo, ambiguous: Ambiguous) -> datetime:
    """An aware time from a local wall-clock time, refusing times the clock skips."""
    if t.tzinfo is not None:
        return t
    early, late = t.replace(tzinfo=tz, fold=0), t.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != t:
        raise ValueError(f"{t:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks go forward)")
    if ambiguous == "reject":
        raise ValueError(
            f"{t:%Y-%m-%d %H:%M} happens twice in {tz.key} (the clocks go back): "
            "set ambiguous_times: earlier or later in the mapping"
        )
    return early if ambiguous == "earlier" else late


def parse_time(text: str, fmt: str, tz: ZoneInfo, ambiguous: Ambiguous) -> datetime:
    try:
        t = datetime.fromisoformat(text) if fmt == "iso" else datetime.strptime(text, fmt)
    except ValueError:
        want = "an ISO 8601 time" if fmt == "iso" else f"a time as {fmt!r}"
        raise ValueError(f"{text!r} is not {want}") from None
    # Before localizing: in years 1 and 9999 the conversion to UTC overflows.
    return localize(plausible(t), tz, ambiguous)


# A whole number of hours, minutes or seconds, the last part possibly with a
# fraction: no sign, exponent, inf or nan, which float() would take.
_WHOLE = re.compile(r"[0-9]+")
_LAST = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_FORMS = "45, 45.5, 1:05 or 0:01:05"


def parse_seconds(text: str) -> float:
    """45, 45.5, 45,5 (Swedish decimal comma), 1:05 or 0:01:05: a finite duration >= 0.

    Minutes and seconds after a colon are 0 to 59, so "1:75" and "1:-5" are
    refused rather than read as some other duration.
    """
    parts = text.strip().replace(",", ".").split(":")
    if len(parts) > 3:
        raise ValueError(f"{text!r} is not seconds: more than two colons ({_FORMS})")
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if not (_LAST if last else _WHOLE).fullmatch(part):
            what = "a number" if last else "a whole number"
            raise ValueError(f"{text!r} is not seconds: {part!r} is not {what} >= 0 ({_FORMS})")
        if i > 0 and float(part) >= 60:
            raise ValueError(f"{text!r} is not seconds: {part!r} after a colon is not 0 to 59")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    if not math.isfinite(total):
        raise ValueError(f"{text!r} is not seconds: too large")
    return total


def shift(t: datetime, seconds: float) -> datetime:
    """t + seconds of real time (aware arithmetic within one zone goes by the wall clock)."""
    return (t.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(t.tzinfo)
