"""Tests for services.core.grouping: group_by parsing, local bucket starts and regrouping.

Stockholm in 2022: summer time from 2022-03-27 01:00Z (02:00 CET -> 03:00 CEST) to
2022-10-30 01:00Z (03:00 CEST -> 02:00 CET). So 2022-03-27 has 23 hours and starts at
00:00+01:00, and 2022-10-30 has 25 hours, starts at 00:00+02:00 and has 02:00 twice.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from services.core.calls import CallBucket
from services.core.grouping import GroupError, bucket_start, parse_group_by, regroup


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def utc_hours(first: str, count: int) -> list[int]:
    start = datetime.fromisoformat(first).astimezone(UTC)
    return [int((start + timedelta(hours=i)).timestamp()) for i in range(count)]


# --- parse_group_by --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        (None, ()),
        ("", ()),
        ("queue", ("queue",)),
        ("queue,day", ("queue", "day")),
        ("day,queue", ("day", "queue")),  # the caller's order is kept
        (" municipality , hour ", ("municipality", "hour")),
        ("queue,queue", ("queue",)),
    ],
)
def test_parse_group_by(text: str | None, groups: tuple[str, ...]) -> None:
    assert parse_group_by(text) == groups


def test_unknown_group_is_named() -> None:
    with pytest.raises(GroupError, match="'caller'"):
        parse_group_by("queue,caller")


def test_hour_and_day_together_are_rejected() -> None:
    with pytest.raises(GroupError, match="hour or by day"):
        parse_group_by("day,queue,hour")


# --- bucket_start ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hour_utc", "day_start"),
    [
        ("2022-03-26T23:00:00+00:00", "2022-03-27T00:00:00+01:00"),  # first hour of the day
        ("2022-03-27T01:00:00+00:00", "2022-03-27T00:00:00+01:00"),  # 03:00+02:00, after the gap
        ("2022-03-27T21:00:00+00:00", "2022-03-27T00:00:00+01:00"),  # 23:00+02:00, last hour
        ("2022-03-27T22:00:00+00:00", "2022-03-28T00:00:00+02:00"),
        ("2022-10-29T22:00:00+00:00", "2022-10-30T00:00:00+02:00"),  # first hour of the day
        ("2022-10-30T00:00:00+00:00", "2022-10-30T00:00:00+02:00"),  # the first 02:00
        ("2022-10-30T01:00:00+00:00", "2022-10-30T00:00:00+02:00"),  # the second 02:00
        ("2022-10-30T22:00:00+00:00", "2022-10-30T00:00:00+02:00"),  # 23:00+01:00, last hour
        ("2022-10-30T23:00:00+00:00", "2022-10-31T00:00:00+01:00"),
    ],
)
def test_day_start_on_dst_days(hour_utc: str, day_start: str) -> None:
    got = bucket_start(epoch(hour_utc), "day")
    assert got.isoformat() == day_start
    assert got.timestamp() == epoch(day_start)  # the right instant, not just the right text


@pytest.mark.parametrize(
    ("hour_utc", "local"),
    [
        ("2022-10-30T00:00:00+00:00", "2022-10-30T02:00:00+02:00"),
        ("2022-10-30T01:00:00+00:00", "2022-10-30T02:00:00+01:00"),
        ("2022-03-27T01:00:00+00:00", "2022-03-27T03:00:00+02:00"),
    ],
)
def test_hour_start_is_local(hour_utc: str, local: str) -> None:
    assert bucket_start(epoch(hour_utc), "hour").isoformat() == local


# --- regroup -------------------------------------------------------------------------------


def autumn_hours() -> dict[tuple[int], CallBucket]:
    # 2022-10-29 23:00 local through 2022-10-31 00:00 local: 27 hours, one call each,
    # inserted newest first so that the order of the rows has to come from sorting.
    hours = utc_hours("2022-10-29T21:00:00+00:00", 27)
    return {(h,): CallBucket(offered=1, wait_offered_ms=1_000) for h in reversed(hours)}


def test_regroup_by_hour_keeps_the_two_autumn_two_oclocks_apart() -> None:
    rows = regroup(autumn_hours(), ("hour",))
    starts = [labels["bucket_start"] for labels, _ in rows]
    assert len(rows) == 27
    assert starts[:6] == [
        "2022-10-29T23:00:00+02:00",
        "2022-10-30T00:00:00+02:00",
        "2022-10-30T01:00:00+02:00",
        "2022-10-30T02:00:00+02:00",
        "2022-10-30T02:00:00+01:00",
        "2022-10-30T03:00:00+01:00",
    ]
    assert starts[-1] == "2022-10-31T00:00:00+01:00"
    assert all(b.offered == 1 for _, b in rows)


def test_regroup_by_day_merges_the_25_hours_of_the_autumn_change() -> None:
    rows = regroup(autumn_hours(), ("day",))
    assert [(labels["bucket_start"], b.offered) for labels, b in rows] == [
        ("2022-10-29T00:00:00+02:00", 1),
        ("2022-10-30T00:00:00+02:00", 25),
        ("2022-10-31T00:00:00+01:00", 1),
    ]
    assert rows[1][1].wait_offered_ms == 25_000


def test_regroup_by_day_has_23_hours_on_the_spring_change() -> None:
    # 2022-03-26 23:00 local (22:00Z) through 2022-03-28 00:00 local (22:00Z): 25 hours.
    hours = utc_hours("2022-03-26T22:00:00+00:00", 25)
    rows = regroup({(h,): CallBucket(offered=1) for h in hours}, ("day",))
    assert [(labels["bucket_start"], b.offered) for labels, b in rows] == [
        ("2022-03-26T00:00:00+01:00", 1),
        ("2022-03-27T00:00:00+01:00", 23),
        ("2022-03-28T00:00:00+02:00", 1),
    ]


def test_regroup_by_queue_and_day() -> None:
    sums = {
        ("askersund", epoch("2022-09-13T10:00:00+00:00")): CallBucket(offered=2),
        ("hallsberg", epoch("2022-09-13T08:00:00+00:00")): CallBucket(offered=4),
        ("askersund", epoch("2022-09-12T10:00:00+00:00")): CallBucket(offered=1),
        ("askersund", epoch("2022-09-13T21:00:00+00:00")): CallBucket(offered=3),  # 23:00 local
    }
    rows = regroup(sums, ("queue", "day"))
    assert [(labels, b.offered) for labels, b in rows] == [
        ({"queue": "askersund", "bucket_start": "2022-09-12T00:00:00+02:00"}, 1),
        ({"queue": "askersund", "bucket_start": "2022-09-13T00:00:00+02:00"}, 5),
        ({"queue": "hallsberg", "bucket_start": "2022-09-13T00:00:00+02:00"}, 4),
    ]


def test_regroup_without_groups_is_one_row() -> None:
    rows = regroup({(): CallBucket(offered=7)}, ())
    assert [(labels, b.offered) for labels, b in rows] == [({}, 7)]


def test_regroup_leaves_its_input_alone() -> None:
    sums = autumn_hours()
    before = copy.deepcopy(sums)
    regroup(sums, ("day",))
    assert sums == before
