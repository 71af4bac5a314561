"""The store against real SQLite and PostgreSQL: outbox, inbox and call buckets.

Every test runs on both databases (the `engine` fixture), each on a fresh schema.
Expected values are worked out by hand from the inputs written in each test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from services.core.calls import BucketKey, CallBucket
from services.store import calls, inbox, outbox
from services.store.calls import BUCKETS, WITHIN
from services.store.outbox import OUTBOX, NewEvent, Pending

pytestmark = pytest.mark.integration

H0 = int(datetime(2022, 3, 1, 10, tzinfo=UTC).timestamp())  # 1646128800
H1 = H0 + 3600
H2 = H0 + 7200
HOUR = 3600


def new_event(event_id: str, key: str = "call-1", payload: str | None = None) -> NewEvent:
    return NewEvent(
        id=event_id,
        type="call.answered",
        topic="t-calls",
        key=key,
        event_time_ms=1_646_128_810_000,
        payload=payload or json.dumps({"id": event_id}),
    )


def outbox_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        return {row.id: dict(row._mapping) for row in conn.execute(select(OUTBOX))}


def pending_ids(engine: Engine, limit: int = 100) -> list[str]:
    with engine.connect() as conn:
        return [p.id for p in outbox.pending(conn, limit)]


def backlog(engine: Engine) -> int:
    with engine.connect() as conn:
        return outbox.backlog(conn)


# --- outbox -------------------------------------------------------------------------------


def test_add_counts_new_rows_and_skips_stored_ids(engine: Engine) -> None:
    with engine.begin() as conn:
        assert outbox.add(conn, [new_event("a"), new_event("b", key="call-2")]) == 2
    before = outbox_rows(engine)
    assert set(before) == {"a", "b"}
    assert before["a"] == {
        "id": "a",
        "type": "call.answered",
        "topic": "t-calls",
        "key": "call-1",
        "event_time_ms": 1_646_128_810_000,
        "received_at_us": before["a"]["received_at_us"],
        "published": False,
        "payload": '{"id": "a"}',
    }

    # The same id again, with every other field different: not counted, row untouched.
    changed = NewEvent(
        id="a",
        type="call.abandoned",
        topic="other",
        key="call-9",
        event_time_ms=1,
        payload='{"changed": true}',
    )
    with engine.begin() as conn:
        assert outbox.add(conn, [changed]) == 0
    assert outbox_rows(engine) == before

    # A mix of a stored id and a new one counts only the new one.
    with engine.begin() as conn:
        assert outbox.add(conn, [changed, new_event("c")]) == 1
    after = outbox_rows(engine)
    assert set(after) == {"a", "b", "c"}
    assert after["a"] == before["a"]

    with engine.begin() as conn:
        assert outbox.add(conn, []) == 0
    assert len(outbox_rows(engine)) == 3


def test_add_counts_a_repeated_id_within_one_call_once(engine: Engine) -> None:
    with engine.begin() as conn:
        assert outbox.add(conn, [new_event("a"), new_event("a", key="call-2")]) == 1
    rows = outbox_rows(engine)
    assert list(rows) == ["a"]
    assert rows["a"]["key"] == "call-1"  # the first of the two is the one kept


def test_pending_is_ordered_by_arrival_then_id_and_limited(engine: Engine) -> None:
    with engine.begin() as conn:
        outbox.add(conn, [new_event("c"), new_event("a", key="call-a"), new_event("b")])
    with engine.begin() as conn:
        # Sorts first by id, but arrived later: it must come last.
        outbox.add(conn, [new_event("0-late")])
    rows = outbox_rows(engine)
    assert rows["0-late"]["received_at_us"] > rows["a"]["received_at_us"]  # precondition

    assert pending_ids(engine) == ["a", "b", "c", "0-late"]
    assert pending_ids(engine, limit=2) == ["a", "b"]
    assert pending_ids(engine, limit=1) == ["a"]
    with engine.connect() as conn:
        first = outbox.pending(conn, 1)
    assert first == [Pending(id="a", topic="t-calls", key="call-a", payload='{"id": "a"}')]


def test_mark_published_and_backlog(engine: Engine) -> None:
    assert backlog(engine) == 0
    with engine.begin() as conn:
        outbox.add(conn, [new_event("a"), new_event("b"), new_event("c")])
    assert backlog(engine) == 3

    with engine.begin() as conn:
        outbox.mark_published(conn, ["a", "c"])
    assert backlog(engine) == 1
    assert pending_ids(engine) == ["b"]
    assert {i: r["published"] for i, r in outbox_rows(engine).items()} == {
        "a": True,
        "b": False,
        "c": True,
    }

    # Nothing, an unknown id, or an id published already change nothing.
    with engine.begin() as conn:
        outbox.mark_published(conn, [])
        outbox.mark_published(conn, ["nope", "a"])
    assert backlog(engine) == 1

    with engine.begin() as conn:
        outbox.mark_published(conn, ["b"])
    assert backlog(engine) == 0
    assert pending_ids(engine) == []


def test_mark_published_rolled_back_leaves_events_pending(engine: Engine) -> None:
    with engine.begin() as conn:
        outbox.add(conn, [new_event("a")])
    with pytest.raises(RuntimeError), engine.begin() as conn:
        outbox.mark_published(conn, ["a"])
        raise RuntimeError("publish failed after the mark")
    assert pending_ids(engine) == ["a"]


def test_requeue_unapplied_only_remarks_published_events_not_applied(engine: Engine) -> None:
    with engine.begin() as conn:
        outbox.add(conn, [new_event(i) for i in ("a", "b", "c", "d", "e")])
        outbox.mark_published(conn, ["a", "b", "c", "d"])
        # a and c were applied; e was applied too although never published (it stays
        # pending, it is not published); x is in the inbox but not in the outbox.
        assert inbox.claim(conn, ["a", "c", "e", "x"]) == {"a", "c", "e", "x"}
    assert pending_ids(engine) == ["e"]

    with engine.begin() as conn:
        assert outbox.requeue_unapplied(conn) == 2  # b and d
    assert pending_ids(engine) == ["b", "d", "e"]
    assert {i: r["published"] for i, r in outbox_rows(engine).items()} == {
        "a": True,
        "b": False,
        "c": True,
        "d": False,
        "e": False,
    }

    with engine.begin() as conn:
        assert outbox.requeue_unapplied(conn) == 0  # nothing published is unapplied now
    assert backlog(engine) == 3


def test_requeue_unapplied_on_an_empty_outbox(engine: Engine) -> None:
    with engine.begin() as conn:
        assert outbox.requeue_unapplied(conn) == 0


# --- inbox --------------------------------------------------------------------------------


def test_claim_returns_only_ids_not_claimed_before(engine: Engine) -> None:
    with engine.begin() as conn:
        assert inbox.claim(conn, ["a", "b"]) == {"a", "b"}
    with engine.begin() as conn:
        assert inbox.claim(conn, ["b", "c", "c"]) == {"c"}
        assert inbox.claim(conn, ["c", "a"]) == set()  # same transaction sees its own claims
    with engine.begin() as conn:
        assert inbox.claim(conn, []) == set()
        assert inbox.claim(conn, iter(["d"])) == {"d"}  # any iterable
        assert inbox.claim(conn, ["a", "b", "c", "d"]) == set()


def test_claim_in_a_rolled_back_transaction_is_undone(engine: Engine) -> None:
    key = BucketKey(hour=H0, queue="askersund", municipality="Askersund")
    with engine.connect() as conn:
        tx = conn.begin()
        assert inbox.claim(conn, ["x", "y"]) == {"x", "y"}
        calls.add_buckets(conn, {key: CallBucket(offered=1, exited=1)})
        tx.rollback()

    # The claim and the bucket change it guarded are both gone.
    with engine.connect() as conn:
        assert calls.sum_buckets(conn, H0, H1) == {(): CallBucket()}
    with pytest.raises(RuntimeError), engine.begin() as conn:
        assert inbox.claim(conn, ["x"]) == {"x"}
        raise RuntimeError("crash before commit")
    with engine.begin() as conn:
        assert inbox.claim(conn, ["x", "y"]) == {"x", "y"}
    with engine.begin() as conn:
        assert inbox.claim(conn, ["x", "y"]) == set()


# --- call buckets -------------------------------------------------------------------------


def bucket(
    offered: int = 0,
    answered: int = 0,
    abandoned: int = 0,
    short: int = 0,
    exited: int = 0,
    within: dict[int, int] | None = None,
    wait_answered_ms: int = 0,
    wait_offered_ms: int = 0,
) -> CallBucket:
    return CallBucket(
        offered=offered,
        answered=answered,
        abandoned=abandoned,
        short_abandoned=short,
        exited=exited,
        answered_within=dict(within or {}),
        wait_answered_ms=wait_answered_ms,
        wait_offered_ms=wait_offered_ms,
    )


def summed(
    engine: Engine,
    start: int,
    end: int,
    by: tuple[str, ...] = (),
    **filters: str | None,
) -> dict[tuple[object, ...], CallBucket]:
    with engine.connect() as conn:
        return calls.sum_buckets(conn, start, end, by=by, filters=filters)


def table_counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        b = conn.execute(select(func.count()).select_from(BUCKETS)).scalar_one()
        w = conn.execute(select(func.count()).select_from(WITHIN)).scalar_one()
    return int(b), int(w)


def test_add_buckets_is_additive_per_bucket_and_threshold(engine: Engine) -> None:
    key = BucketKey(hour=H0, queue="askersund", municipality="Askersund")
    # 3 answered (waits 4 s, 30 s, 70 s), 1 abandoned after 2 s (short), 1 exited after 9 s.
    delta = bucket(
        offered=5,
        answered=3,
        abandoned=1,
        short=1,
        exited=1,
        within={20: 1, 60: 2},
        wait_answered_ms=104_000,
        wait_offered_ms=115_000,
    )
    with engine.begin() as conn:
        calls.add_buckets(conn, {key: delta})
    assert summed(engine, H0, H1) == {(): delta}
    assert table_counts(engine) == (1, 2)

    with engine.begin() as conn:
        calls.add_buckets(conn, {key: delta})
    assert summed(engine, H0, H1) == {
        (): bucket(
            offered=10,
            answered=6,
            abandoned=2,
            short=2,
            exited=2,
            within={20: 2, 60: 4},
            wait_answered_ms=208_000,
            wait_offered_ms=230_000,
        )
    }
    assert table_counts(engine) == (1, 2)  # updated in place, not inserted again

    # A delta with a threshold not seen before, and one with a 0 for 20 s.
    with engine.begin() as conn:
        calls.add_buckets(
            conn,
            {
                key: bucket(
                    offered=1,
                    answered=1,
                    within={20: 0, 30: 1, 60: 1},
                    wait_answered_ms=25_000,
                    wait_offered_ms=25_000,
                )
            },
        )
        calls.add_buckets(conn, {})  # nothing to add is a no-op
    got = summed(engine, H0, H1)[()]
    assert got.offered == 11
    assert got.answered == 7
    assert got.wait_answered_ms == 233_000
    assert got.wait_offered_ms == 255_000
    assert {t: got.answered_within.get(t, 0) for t in (20, 30, 60)} == {20: 2, 30: 1, 60: 5}
    assert set(got.answered_within) <= {20, 30, 60}


def test_talk_times_and_abandons_within_add_up(engine: Engine) -> None:
    key = BucketKey(hour=H0, queue="askersund", municipality="Askersund")
    # Two abandons (after 10 s and 45 s) and two talk times (180 s and 240.5 s).
    abandons = CallBucket(
        offered=2, abandoned=2, wait_offered_ms=55_000, abandoned_within={20: 1, 60: 2}
    )
    talks = CallBucket(talked=2, talk_ms=420_500)
    with engine.begin() as conn:
        calls.add_buckets(conn, {key: abandons})
    with engine.begin() as conn:
        calls.add_buckets(conn, {key: talks})
        calls.add_buckets(conn, {key: abandons})
    got = summed(engine, H0, H1)[()]
    assert (got.talked, got.talk_ms) == (2, 420_500)
    assert got.abandoned_within == {20: 2, 60: 4}
    assert got.answered_within == {20: 0, 60: 0}  # stored beside them, none answered


def test_add_buckets_keeps_buckets_apart_by_hour_queue_and_municipality(engine: Engine) -> None:
    one = bucket(
        offered=1,
        answered=1,
        within={20: 1, 60: 1},
        wait_answered_ms=3_000,
        wait_offered_ms=3_000,
    )
    keys = [
        BucketKey(H0, "askersund", "Askersund"),
        BucketKey(H1, "askersund", "Askersund"),
        BucketKey(H0, "hallsberg", "Hallsberg"),
        BucketKey(H0, "askersund", "shared"),
    ]
    with engine.begin() as conn:
        calls.add_buckets(conn, dict.fromkeys(keys, one))
    assert table_counts(engine) == (4, 8)
    assert summed(engine, H0, H2, by=("hour", "queue", "municipality")) == {
        (H0, "hallsberg", "Hallsberg"): one,
        (H0, "askersund", "Askersund"): one,
        (H0, "askersund", "shared"): one,
        (H1, "askersund", "Askersund"): one,
    }


@pytest.fixture
def filled(engine: Engine) -> Engine:
    """Six buckets around the period [H0, H2) = 2022-03-01 10:00..12:00 UTC."""
    deltas = {
        # Before the period: never counted in [H0, ...).
        BucketKey(H0 - HOUR, "askersund", "Askersund"): bucket(
            offered=7, answered=7, within={20: 7, 60: 7}, wait_answered_ms=7_000
        ),
        BucketKey(H0, "askersund", "Askersund"): bucket(
            offered=2,
            answered=2,
            within={20: 2, 60: 2},
            wait_answered_ms=10_000,
            wait_offered_ms=10_000,
        ),
        BucketKey(H0, "hallsberg", "Hallsberg"): bucket(
            offered=1, abandoned=1, short=1, wait_offered_ms=2_000
        ),
        BucketKey(H1, "askersund", "Askersund"): bucket(
            offered=3,
            answered=1,
            abandoned=1,
            exited=1,
            within={60: 1},
            wait_answered_ms=30_000,
            wait_offered_ms=100_000,
        ),
        BucketKey(H1, "gemensam", "shared"): bucket(
            offered=1,
            answered=1,
            within={20: 1, 60: 1},
            wait_answered_ms=5_000,
            wait_offered_ms=5_000,
        ),
        # At the end of the period: [H0, H2) excludes it.
        BucketKey(H2, "askersund", "Askersund"): bucket(
            offered=5, exited=5, wait_offered_ms=500_000
        ),
    }
    with engine.begin() as conn:
        calls.add_buckets(conn, deltas)
    return engine


def test_sum_buckets_ungrouped_over_a_half_open_period(filled: Engine) -> None:
    # The four buckets at H0 and H1.
    assert summed(filled, H0, H2) == {
        (): bucket(
            offered=7,
            answered=4,
            abandoned=2,
            short=1,
            exited=1,
            within={20: 3, 60: 4},
            wait_answered_ms=45_000,
            wait_offered_ms=117_000,
        )
    }
    # Start inclusive, end exclusive, on either side.
    assert summed(filled, H0, H1) == {
        (): bucket(
            offered=3,
            answered=2,
            abandoned=1,
            short=1,
            within={20: 2, 60: 2},
            wait_answered_ms=10_000,
            wait_offered_ms=12_000,
        )
    }
    assert summed(filled, H2, H2 + HOUR) == {
        (): bucket(offered=5, exited=5, wait_offered_ms=500_000)
    }
    assert summed(filled, H0 - HOUR, H0) == {
        (): bucket(offered=7, answered=7, within={20: 7, 60: 7}, wait_answered_ms=7_000)
    }
    # A period that starts inside an hour does not count that hour.
    assert summed(filled, H0 + 1, H1 + 1)[()].offered == 4
    assert summed(filled, H0 - HOUR, H2 + HOUR)[()].offered == 19


def test_sum_buckets_grouped_by_queue(filled: Engine) -> None:
    assert summed(filled, H0, H2, by=("queue",)) == {
        ("askersund",): bucket(
            offered=5,
            answered=3,
            abandoned=1,
            exited=1,
            within={20: 2, 60: 3},
            wait_answered_ms=40_000,
            wait_offered_ms=110_000,
        ),
        ("hallsberg",): bucket(offered=1, abandoned=1, short=1, wait_offered_ms=2_000),
        ("gemensam",): bucket(
            offered=1,
            answered=1,
            within={20: 1, 60: 1},
            wait_answered_ms=5_000,
            wait_offered_ms=5_000,
        ),
    }


def test_sum_buckets_grouped_by_municipality(filled: Engine) -> None:
    got = summed(filled, H0, H2, by=("municipality",))
    assert set(got) == {("Askersund",), ("Hallsberg",), ("shared",)}
    assert got[("Askersund",)].offered == 5
    assert got[("Askersund",)].answered_within == {20: 2, 60: 3}
    assert got[("Hallsberg",)] == bucket(offered=1, abandoned=1, short=1, wait_offered_ms=2_000)
    assert got[("shared",)].wait_answered_ms == 5_000


def test_sum_buckets_grouped_by_hour(filled: Engine) -> None:
    assert summed(filled, H0, H2, by=("hour",)) == {
        (H0,): bucket(
            offered=3,
            answered=2,
            abandoned=1,
            short=1,
            within={20: 2, 60: 2},
            wait_answered_ms=10_000,
            wait_offered_ms=12_000,
        ),
        (H1,): bucket(
            offered=4,
            answered=2,
            abandoned=1,
            exited=1,
            within={20: 1, 60: 2},
            wait_answered_ms=35_000,
            wait_offered_ms=105_000,
        ),
    }
    hours = summed(filled, H0 - HOUR, H2 + HOUR, by=("hour",))
    assert {k: v.offered for k, v in hours.items()} == {
        (H0 - HOUR,): 7,
        (H0,): 3,
        (H1,): 4,
        (H2,): 5,
    }
    assert all(type(k[0]) is int for k in hours)


def test_sum_buckets_grouped_by_queue_and_hour(filled: Engine) -> None:
    got = summed(filled, H0, H2, by=("queue", "hour"))
    assert {k: (v.offered, v.answered_within) for k, v in got.items()} == {
        ("askersund", H0): (2, {20: 2, 60: 2}),
        ("hallsberg", H0): (1, {}),
        ("askersund", H1): (3, {60: 1}),
        ("gemensam", H1): (1, {20: 1, 60: 1}),
    }


def test_sum_buckets_with_filters(filled: Engine) -> None:
    assert summed(filled, H0, H2, queue="askersund") == {
        (): bucket(
            offered=5,
            answered=3,
            abandoned=1,
            exited=1,
            within={20: 2, 60: 3},
            wait_answered_ms=40_000,
            wait_offered_ms=110_000,
        )
    }
    assert summed(filled, H0, H2, municipality="Hallsberg") == {
        (): bucket(offered=1, abandoned=1, short=1, wait_offered_ms=2_000)
    }
    # Both filters; a None filter means "no filter".
    assert summed(filled, H0, H2, queue="askersund", municipality="Askersund")[()].offered == 5
    assert summed(filled, H0, H2, queue=None, municipality=None)[()].offered == 7
    # A filter with grouping: only the matching groups.
    assert {
        k: v.offered for k, v in summed(filled, H0, H2, by=("hour",), queue="askersund").items()
    } == {(H0,): 2, (H1,): 3}
    # Filters that match no bucket together.
    assert summed(filled, H0, H2, queue="hallsberg", municipality="Askersund") == {(): bucket()}


def test_sum_buckets_refuses_unknown_group_columns(filled: Engine) -> None:
    with pytest.raises(ValueError, match="cannot group calls by 'day'"):
        summed(filled, H0, H2, by=("day",))
    with pytest.raises(ValueError, match="offered"):
        summed(filled, H0, H2, by=("offered",))


def test_sum_over_no_rows(engine: Engine) -> None:
    # Ungrouped: one all-zero bucket; grouped: no groups at all.
    assert summed(engine, H0, H2) == {(): CallBucket()}
    assert summed(engine, H0, H2, by=("queue",)) == {}
    assert summed(engine, H0, H2, by=("hour", "municipality")) == {}


def test_sum_over_a_period_with_no_rows_beside_stored_buckets(filled: Engine) -> None:
    zero = {(): CallBucket()}
    assert summed(filled, H2 + HOUR, H2 + 10 * HOUR) == zero
    assert summed(filled, H0, H0) == zero  # an empty interval
    assert summed(filled, H0, H2, queue="nowhere") == zero
    assert summed(filled, H2 + HOUR, H2 + 10 * HOUR, by=("queue",)) == {}
