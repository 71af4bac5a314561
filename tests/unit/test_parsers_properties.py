"""Properties of the small text parsers: periods, times and durations, group_by.

On any text each returns a value or raises its own error (PeriodError, ValueError,
GroupError) with a message that says what was wrong; never KeyError, OverflowError ….
"""

from __future__ import annotations

import math
import re
import string
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.core.calls import CallBucket
from services.core.grouping import CALL_GROUPS, GroupError, bucket_start, parse_group_by, regroup
from services.core.periods import STOCKHOLM, PeriodError, parse_period
from services.core.timeparse import parse_seconds, parse_time

FAST = settings(max_examples=200, deadline=None)

# Text near the accepted forms reaches deeper than random text: digits, the
# separators and letters the forms use, any lengths.
period_like = st.text(alphabet="0123456789-.TQW tqw", max_size=24) | st.builds(
    "{}-{}{}".format,
    st.integers(0, 99999),
    st.sampled_from(["", "T", "Q", "W"]),
    st.integers(0, 999),
)
zones = st.sampled_from(["Europe/Stockholm", "UTC", "America/Sao_Paulo", "Australia/Lord_Howe"])


@FAST
@given(st.text(max_size=30) | period_like)
def test_any_text_is_a_period_or_a_period_error(text: str) -> None:
    try:
        period = parse_period(text)
    except PeriodError as exc:
        assert repr(text.strip()) in str(exc)  # names what it could not read
        assert "use 2022, 2022-T2" in str(exc)  # and what it can
        return
    assert period.start < period.end
    assert period.start.tzinfo is STOCKHOLM
    assert period.hours > 0


@FAST
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_every_day_is_a_period_of_its_own(day: date) -> None:
    period = parse_period(day.isoformat())
    assert period.start.date() == day
    assert period.end.date() == day + timedelta(days=1)
    assert period.contains(period.start)
    assert not period.contains(period.end)


@FAST
@given(
    st.text(max_size=40)
    | st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
        datetime.isoformat
    ),
    st.sampled_from(["iso", "%Y-%m-%d %H:%M", "%d/%m/%Y"]),
    zones,
    st.sampled_from(["reject", "earlier", "later"]),
)
def test_any_text_is_a_time_or_a_value_error(text: str, fmt: str, zone: str, amb: str) -> None:
    try:
        t = parse_time(text, fmt, ZoneInfo(zone), amb)  # type: ignore[arg-type]
    except ValueError as exc:
        assert str(exc)
        return
    # What comes back can be used: it is aware, in range, and has a UTC instant.
    assert t.tzinfo is not None
    assert 1900 <= t.year <= 2999
    t.astimezone(UTC)


@FAST
@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2999, 12, 30)),
    zones,
)
def test_a_local_time_reads_back_as_the_same_wall_clock(t: datetime, zone: str) -> None:
    try:
        aware = parse_time(t.isoformat(), "iso", ZoneInfo(zone), "earlier")
    except ValueError as exc:
        assert "does not exist" in str(exc)  # a time the clocks skip over
        return
    assert aware.replace(tzinfo=None) == t


def seconds_reference(text: str) -> float | None:
    """What the text means as seconds, by hand, or None when it is not seconds.

    Written apart from the parser: up to three colon-separated parts of plain
    digits, the last one possibly with a fraction (point or comma); a part
    after a colon is 0 to 59; no sign, exponent, inf or nan.
    """
    parts = text.strip().split(":")
    if len(parts) > 3:
        return None
    total = 0.0
    for i, part in enumerate(parts):
        whole, sep, frac = part.replace(",", ".").partition(".")
        if not whole or not all(c in string.digits for c in whole):
            return None
        if sep and (i < len(parts) - 1 or not frac or not all(c in string.digits for c in frac)):
            return None
        value = int(whole) + (int(frac) / 10 ** len(frac) if frac else 0)
        if i > 0 and value >= 60:
            return None
        total = total * 60 + value
    return total if math.isfinite(total) else None


@FAST
@given(st.text(alphabet=string.digits + ".,:- e+inf", max_size=20) | st.text(max_size=20))
def test_any_text_is_its_seconds_or_a_value_error(text: str) -> None:
    expected = seconds_reference(text)
    try:
        got = parse_seconds(text)
    except ValueError as exc:
        assert expected is None, f"{text!r} is {expected} s, refused: {exc}"
        assert repr(text) in str(exc)
        return
    assert expected is not None, f"{text!r} is not seconds, read as {got}"
    assert math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-9)
    assert math.isfinite(got) and got >= 0


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1:-5", "'-5' is not a number >= 0"),
        ("-5", "'-5' is not a number >= 0"),
        ("inf", "'inf' is not a number >= 0"),
        ("nan", "'nan' is not a number >= 0"),
        ("1e3", "'1e3' is not a number >= 0"),
        ("1:75", "'75' after a colon is not 0 to 59"),
        ("1.5:00", "'1.5' is not a whole number >= 0"),
        ("1:2:3:4", "more than two colons"),
        ("9" * 400, "too large"),
    ],
)
def test_seconds_refused_with_what_is_wrong(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        parse_seconds(text)


@FAST
@given(st.floats(0, 1e9, allow_nan=False, allow_infinity=False))
def test_seconds_round_trip_through_their_own_text(seconds: float) -> None:
    # repr() gives the shortest text that reads back as the same float.
    text = repr(seconds)
    assume("e" not in text)  # an exponent is not a written duration
    assert parse_seconds(text) == seconds
    assert parse_seconds(text.replace(".", ",")) == seconds  # Swedish comma


@FAST
@given(st.text(max_size=40) | st.lists(st.sampled_from([*CALL_GROUPS, "", " ", "x"])).map(",".join))
def test_any_group_by_is_groups_or_a_group_error(text: str) -> None:
    try:
        groups = parse_group_by(text)
    except GroupError as exc:
        assert str(exc)
        return
    assert set(groups) <= set(CALL_GROUPS)
    assert len(set(groups)) == len(groups)
    assert not {"hour", "day"} <= set(groups)


hours = st.integers(
    int(datetime(1970, 1, 2, tzinfo=UTC).timestamp()) // 3600,
    int(datetime(2999, 12, 30, tzinfo=UTC).timestamp()) // 3600,
).map(lambda h: h * 3600)


@FAST
@given(st.dictionaries(st.tuples(st.sampled_from("ab"), hours), st.integers(1, 50), max_size=30))
def test_regroup_by_day_keeps_every_call(counts: dict[tuple[str, int], int]) -> None:
    sums = {}
    for key, n in counts.items():
        bucket = CallBucket()
        bucket.offered = n
        sums[key] = bucket
    rows = regroup(sums, ("queue", "day"))
    assert sum(b.offered for _, b in rows) == sum(counts.values())
    # Reference: the local calendar day of each hour, by the zone database directly.
    days = {(q, datetime.fromtimestamp(h, STOCKHOLM).date()) for q, h in counts}
    assert len(rows) == len(days)
    for labels, _ in rows:
        start = datetime.fromisoformat(labels["bucket_start"])
        assert start.astimezone(STOCKHOLM).time() == datetime.min.time()


@FAST
@given(hours)
def test_a_day_starts_at_local_midnight_at_or_before_its_hours(hour: int) -> None:
    day, start = bucket_start(hour, "day"), bucket_start(hour, "hour")
    assert day <= start < day + timedelta(hours=25)
    assert (day.hour, day.minute) == (0, 0)
