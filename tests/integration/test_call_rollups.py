"""Daily and monthly call rollups answer exactly what the hourly buckets answer (issue 13).

Random hourly deltas around both DST changes of 2022 are added through the
store (several batches, keys repeated), then random periods, from any hour to
any hour, local midnights and month starts included, are read grouped and
filtered in every way the read API can; the answer must equal the sums of the
deltas computed here. The same after a rebuild clears from a random hour on.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, delete

from services.core.calls import BucketKey, CallBucket
from services.core.periods import STOCKHOLM
from services.store import calls, rebuild
from services.store.db import make_engine
from services.store.migrate import init_db

pytestmark = pytest.mark.integration

TABLES = [calls.BUCKETS, calls.WITHIN, calls.ROLLUPS, calls.ROLLUPS_WITHIN, calls.QUEUE_HOURS]
QUEUES = [("askersund", "Askersund"), ("laxa", "Laxå"), ("gemensam", "shared")]
GROUPINGS: list[tuple[str, ...]] = [(), ("queue",), ("municipality",), ("queue", "municipality")]


def local(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(datetime(year, month, day, hour, tzinfo=STOCKHOLM).timestamp())


# Two stretches of 2022, each with whole months and a DST change (27 March, 30 October).
SPANS = [(local(2022, 2, 20), local(2022, 5, 10)), (local(2022, 9, 25), local(2022, 12, 5))]


def boundaries(lo: int, hi: int) -> list[int]:
    """Local midnights and month starts of a span, written out by hand from the calendar."""
    out = []
    day = datetime.fromtimestamp(lo, STOCKHOLM).date()
    while (t := local(day.year, day.month, day.day)) < hi:
        out.append(t)
        day = datetime.fromordinal(day.toordinal() + 1).date()
    return out


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, Any]:
    lo, hi = draw(st.sampled_from(SPANS))
    hours = (hi - lo) // 3600
    hour = st.integers(0, hours - 1).map(lambda h: lo + 3600 * h)
    bucket = st.builds(
        CallBucket,
        offered=st.integers(1, 9),
        answered=st.integers(0, 9),
        abandoned=st.integers(0, 9),
        short_abandoned=st.integers(0, 3),
        exited=st.integers(0, 2),
        answered_within=st.dictionaries(st.sampled_from([20, 60]), st.integers(0, 9)),
        wait_answered_ms=st.integers(0, 10**7),
        wait_offered_ms=st.integers(0, 10**7),
        talked=st.integers(0, 9),
        talk_ms=st.integers(0, 10**7),
        abandoned_within=st.dictionaries(st.sampled_from([20, 60]), st.integers(0, 9)),
    )
    key = st.builds(lambda h, q: BucketKey(h, *q), hour, st.sampled_from(QUEUES))
    batches = draw(st.lists(st.dictionaries(key, bucket, max_size=40), min_size=1, max_size=3))
    edges = st.one_of(hour, st.sampled_from(boundaries(lo, hi)), st.just(lo), st.just(hi))
    a, b = sorted(draw(st.tuples(edges, edges)))
    return {
        "batches": batches,
        "period": (a, b),
        "by": draw(st.sampled_from(GROUPINGS)),
        "queue": draw(st.sampled_from([None, QUEUES[0][0]])),
        "since": draw(st.one_of(hour, st.sampled_from(boundaries(lo, hi)))),
    }


def reference(
    batches: list[dict[BucketKey, CallBucket]],
    start: int,
    end: int,
    by: tuple[str, ...],
    queue: str | None,
    before: int | None = None,
) -> dict[tuple[Any, ...], CallBucket]:
    out: dict[tuple[Any, ...], CallBucket] = {} if by else {(): CallBucket()}
    for batch in batches:
        for k, b in batch.items():
            if not start <= k.hour < end or (queue and k.queue != queue):
                continue
            if before is not None and k.hour >= before:
                continue
            out.setdefault(tuple(getattr(k, c) for c in by), CallBucket()).add(b)
    return normal({k: v for k, v in out.items() if v.offered or not by})


def per_day(
    batches: list[dict[BucketKey, CallBucket]], start: int, end: int, queue: str | None
) -> dict[tuple[Any, ...], CallBucket]:
    out: dict[tuple[Any, ...], CallBucket] = {}
    for batch in batches:
        for k, b in batch.items():
            if start <= k.hour < end and (not queue or k.queue == queue):
                d = datetime.fromtimestamp(k.hour, STOCKHOLM).date()
                out.setdefault((local(d.year, d.month, d.day),), CallBucket()).add(b)
    return normal({k: v for k, v in out.items() if v.offered})


def per_hour(
    batches: list[dict[BucketKey, CallBucket]],
    start: int,
    end: int,
    filters: dict[str, str],
    before: int | None = None,
) -> dict[int, CallBucket]:
    """Each hour's counts (no within-threshold counts), as staffing reads them."""
    out: dict[int, CallBucket] = {}
    for batch in batches:
        for k, b in batch.items():
            if not start <= k.hour < end or (before is not None and k.hour >= before):
                continue
            if any(getattr(k, col) != value for col, value in filters.items()):
                continue
            counts = {f: getattr(b, f) for f in COUNTS}
            out.setdefault(k.hour, CallBucket()).add(CallBucket(**counts))
    return {h: b for h, b in out.items() if b.offered}


COUNTS: tuple[str, ...] = ("offered", "answered", "abandoned", "short_abandoned", "exited")
COUNTS += ("wait_answered_ms", "wait_offered_ms", "talked", "talk_ms")
# The filters staffing reads with: all queues, one queue, one municipality (of a queue).
HOUR_FILTERS: list[dict[str, str]] = [{}, {"queue": "askersund"}, {"municipality": "Laxå"}]
HOUR_FILTERS += [{"queue": "gemensam", "municipality": "shared"}]


def normal(sums: dict[tuple[Any, ...], CallBucket]) -> dict[tuple[Any, ...], CallBucket]:
    # A threshold nobody was answered (or abandoned) within is stored as no row, or
    # as a row of 0 beside abandoned (answered) calls: 0 and absent are one.
    for b in sums.values():
        b.answered_within = {t: n for t, n in b.answered_within.items() if n}
        b.abandoned_within = {t: n for t, n in b.abandoned_within.items() if n}
    return sums


def from_hours(
    conn: Connection, start: int, end: int, by: tuple[str, ...], queue: str | None
) -> dict[tuple[Any, ...], CallBucket]:
    """What the hourly buckets alone answer: read grouped by hour (which only they
    hold), then added up here; so every field, zeros included, must be the same."""
    out: dict[tuple[Any, ...], CallBucket] = {} if by else {(): CallBucket()}
    rows = calls.sum_buckets(conn, start, end, by=(*by, "hour"), filters={"queue": queue})
    for key, bucket in rows.items():
        out.setdefault(key[:-1], CallBucket()).add(bucket)
    return out


@pytest.fixture
def store(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    init_db(engine)
    yield engine
    engine.dispose()


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=scenario())
def test_rollups_answer_what_the_hours_sum_to(store: Engine, case: dict[str, Any]) -> None:
    with store.begin() as conn:
        for table in TABLES:
            conn.execute(delete(table))
        for batch in case["batches"]:
            calls.add_buckets(conn, batch)
    start, end = case["period"]
    by, queue = case["by"], case["queue"]
    with store.connect() as conn:
        got = calls.sum_buckets(conn, start, end, by=by, filters={"queue": queue})
        hourly = from_hours(conn, start, end, by, queue)
    # Exactly what the hours answer (thresholds with a 0 included), and both the
    # sums of the deltas computed here: every count, talk, answered and abandoned within.
    assert got == hourly
    assert normal(got) == reference(case["batches"], start, end, by, queue)

    # Per local day, as the goal report reads its daily series.
    with store.connect() as conn:
        days = calls.daily_sums(conn, start, end, filters={"queue": queue})
    assert normal({(d,): b for d, b in days.items()}) == per_day(case["batches"], start, end, queue)

    # Hour by hour, the queues' municipalities pooled, as staffing reads them.
    with store.connect() as conn:
        for filters in HOUR_FILTERS:
            got_hours = calls.hourly(conn, start, end, filters)
            assert got_hours == per_hour(case["batches"], start, end, filters), filters

    # `opstrack rebuild --from`: everything from `since` on is cleared; the rollups
    # of since's day and month keep what came before it.
    since = case["since"]
    with store.begin() as conn:
        rebuild.clear_buckets(conn, since)
    with store.connect() as conn:
        got = calls.sum_buckets(conn, start, end, by=by, filters={"queue": queue})
        got_hours = calls.hourly(conn, start, end)
    assert normal(got) == reference(case["batches"], start, end, by, queue, before=since)
    assert got_hours == per_hour(case["batches"], start, end, {}, before=since)


def test_a_year_is_read_from_months_and_the_edges_from_days_and_hours() -> None:
    # 2022-01-01 10:00 local .. 2023-01-01: 14 hours, 30 days, 11 months.
    start, end = local(2022, 1, 1, 10), local(2023, 1, 1)
    got = calls.cover(start, end)
    assert got["hour"] == [(start, local(2022, 1, 2))]
    assert got["day"] == [(local(2022, 1, 2), local(2022, 2, 1))]
    assert got["month"] == [(local(2022, 2, 1), local(2023, 1, 1))]
    # Within one day only hours; a DST day is 23 hours long and still one day.
    assert calls.cover(local(2022, 3, 27), local(2022, 3, 28)) == {
        "hour": [],
        "day": [(local(2022, 3, 27), local(2022, 3, 28))],
        "month": [],
    }
    assert local(2022, 3, 28) - local(2022, 3, 27) == 23 * 3600


def test_a_store_without_rollups_gets_them_from_its_hours(store: Engine) -> None:
    batch = {
        BucketKey(local(2022, 3, 27, 1), *QUEUES[0]): CallBucket(offered=3, answered=2),
        BucketKey(local(2022, 3, 27, 4), *QUEUES[0]): CallBucket(offered=1, answered=1),
        BucketKey(local(2022, 4, 2, 9), *QUEUES[1]): CallBucket(
            offered=5,
            abandoned=1,
            answered_within={20: 4},
            abandoned_within={20: 1},
            talked=4,
            talk_ms=600_000,
        ),
    }
    with store.begin() as conn:
        calls.add_buckets(conn, batch)
        for table in TABLES[2:]:
            conn.execute(delete(table))  # as a store made before the rollups
        calls.rebuild_all_rollups(conn)
    with store.connect() as conn:
        got = calls.sum_buckets(conn, local(2022, 3, 1), local(2022, 5, 1), by=("queue",))
        hours = calls.hourly(conn, local(2022, 3, 1), local(2022, 5, 1))
    assert hours == {
        local(2022, 3, 27, 1): CallBucket(offered=3, answered=2),
        local(2022, 3, 27, 4): CallBucket(offered=1, answered=1),
        local(2022, 4, 2, 9): CallBucket(offered=5, abandoned=1, talked=4, talk_ms=600_000),
    }
    assert normal(got) == {
        ("askersund",): CallBucket(offered=4, answered=3),
        ("laxa",): CallBucket(
            offered=5,
            abandoned=1,
            answered_within={20: 4},
            abandoned_within={20: 1},
            talked=4,
            talk_ms=600_000,
        ),
    }
