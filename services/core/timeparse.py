"""Times and durations as exports write them: local wall-clock times and seconds.

Shared by the CSV mapping and the webhook mapping, which both read times that
may carry no UTC offset and must agree on what such a time means.
"""

from __future__ import annotations

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


def parse_seconds(text: str) -> float:
    """45, 45.5, 45,5 (Swedish decimal comma), 1:05 or 0:01:05."""
    parts = text.strip().replace(",", ".").split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if not 1 <= len(values) <= 3:
        raise ValueError(f"{text!r} is not seconds (45, 45.5, 1:05 or 0:01:05)")
    total = 0.0
    for v in values:
        total = total * 60 + v
    return total


def shift(t: datetime, seconds: float) -> datetime:
    """t + seconds of real time (aware arithmetic within one zone goes by the wall clock)."""
    return (t.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(t.tzinfo)
