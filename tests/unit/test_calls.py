"""Tests for services.core.calls: folding call events into additive hourly buckets.

Hand-worked examples first, then properties against a tiny reference written here
from docs/definitions.md#calls, which works on the raw event dicts with datetime
arithmetic and never touches the bucket code.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from functools import reduce
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.calls import BucketKey, CallBucket, CallRules, fold_call, fold_calls, total
from services.core.sli import call_figures
from tests.builders import call
from tests.parsed import parse_call

RULES = CallRules()  # short abandon below 5 s, thresholds 20 and 60 s


def raw_call(
    kind: str,
    time: str,
    wait: float | None = None,
    *,
    n: int = 1,
    queue: str = "askersund",
    municipality: str = "Askersund",
    reason: str = "timeout",
) -> dict[str, Any]:
    return call(
        kind,
        f"{queue}-{n}",
        queue,
        municipality,
        wait=wait,
        reason=reason,
        id=f"evt-{kind}-{n}",
        source="/telefoni/servicedesk",
        time=time,
    )


def fold_one(kind: str, time: str, wait: float | None = None, rules: CallRules = RULES) -> Any:
    return fold_call(parse_call(raw_call(kind, time, wait)), rules)


def fold_event(raw: dict[str, Any]) -> tuple[BucketKey, CallBucket]:
    folded = fold_call(parse_call(raw), RULES)
    assert folded is not None, f"{raw['type']} changed no bucket"
    return folded


def hour(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


# --- hand-worked folds -----------------------------------------------------------------


def test_answered_call_belongs_to_the_hour_it_entered() -> None:
    # Answered 10:00:30 after 45 s: it entered at 09:59:45, so the 09:00 hour.
    key, delta = fold_one("call.answered", "2022-09-13T10:00:30Z", 45)
    assert key == BucketKey(hour("2022-09-13T09:00:00+00:00"), "askersund", "Askersund")
    assert delta == CallBucket(
        offered=1,
        answered=1,
        answered_within={20: 0, 60: 1},
        wait_answered_ms=45_000,
        wait_offered_ms=45_000,
    )


def test_local_offset_is_an_instant() -> None:
    # 12:00:10+02:00 is 10:00:10Z; 20 s earlier is 09:59:50Z.
    key, _ = fold_one("call.answered", "2022-09-13T12:00:10+02:00", 20)
    assert key.hour == hour("2022-09-13T09:00:00+00:00")


def test_entering_on_the_hour_belongs_to_that_hour() -> None:
    key, _ = fold_one("call.answered", "2022-09-13T10:00:20.500Z", 20.5)
    assert key.hour == hour("2022-09-13T10:00:00+00:00")


@pytest.mark.parametrize(
    ("wait", "within"),
    [
        (20, {20: 1, 60: 1}),
        (20.001, {20: 0, 60: 1}),
        (60, {20: 0, 60: 1}),
        (60.001, {20: 0, 60: 0}),
    ],
)
def test_answered_within_is_inclusive(wait: float, within: dict[int, int]) -> None:
    _, delta = fold_one("call.answered", "2022-09-13T10:30:00Z", wait)
    assert delta.answered_within == within


@pytest.mark.parametrize(("wait", "short"), [(0, 1), (4.999, 1), (5, 0), (5.001, 0)])
def test_short_abandon_is_strictly_below_five_seconds(wait: float, short: int) -> None:
    _, delta = fold_one("call.abandoned", "2022-09-13T10:30:00Z", wait)
    assert (delta.offered, delta.abandoned, delta.short_abandoned) == (1, 1, short)
    assert delta.answered_within == {}  # not answered: no answer-time counts at all


def test_zero_short_abandon_seconds_disables_short_abandons() -> None:
    _, delta = fold_one("call.abandoned", "2022-09-13T10:30:00Z", 0, CallRules(0))
    assert delta.short_abandoned == 0


def test_exited_call_is_offered_not_answered() -> None:
    _, delta = fold_one("call.exited", "2022-09-13T10:30:00Z", 600)
    assert delta == CallBucket(offered=1, exited=1, wait_offered_ms=600_000)


def test_queued_call_folds_to_nothing() -> None:
    # It counts once its queue stay ends.
    assert fold_one("call.queued", "2022-09-13T10:30:00Z") is None


def test_thresholds_come_from_the_rules() -> None:
    _, delta = fold_one("call.answered", "2022-09-13T10:30:00Z", 25, CallRules(5, (30, 120)))
    assert delta.answered_within == {30: 1, 120: 1}


def test_fold_calls_sums_per_queue_and_hour() -> None:
    events = [
        raw_call("call.queued", "2022-09-13T10:00:00Z", n=1),
        raw_call("call.answered", "2022-09-13T10:00:10Z", 10, n=1),
        raw_call("call.abandoned", "2022-09-13T10:59:59Z", 2, n=2),
        raw_call("call.answered", "2022-09-13T11:00:30Z", 45, n=3),  # entered 10:59:45
        raw_call(
            "call.exited",
            "2022-09-13T11:20:00Z",
            60,
            n=4,
            queue="hallsberg",
            municipality="Hallsberg",
        ),
    ]
    got = fold_calls([parse_call(e) for e in events], RULES)
    ten, eleven = hour("2022-09-13T10:00:00+00:00"), hour("2022-09-13T11:00:00+00:00")
    assert got == {
        BucketKey(ten, "askersund", "Askersund"): CallBucket(
            offered=3,
            answered=2,
            abandoned=1,
            short_abandoned=1,
            answered_within={20: 1, 60: 2},
            wait_answered_ms=55_000,
            wait_offered_ms=57_000,
            abandoned_within={20: 1, 60: 1},  # hung up after 2 s
        ),
        BucketKey(eleven, "hallsberg", "Hallsberg"): CallBucket(
            offered=1, exited=1, wait_offered_ms=60_000
        ),
    }


# --- buckets form a commutative monoid ---------------------------------------------------

counts = st.integers(min_value=0, max_value=10_000)
buckets = st.builds(
    CallBucket,
    offered=counts,
    answered=counts,
    abandoned=counts,
    short_abandoned=counts,
    exited=counts,
    answered_within=st.dictionaries(st.sampled_from([10, 20, 60, 120]), counts, max_size=4),
    wait_answered_ms=st.integers(min_value=0, max_value=10**12),
    wait_offered_ms=st.integers(min_value=0, max_value=10**12),
    talked=counts,
    talk_ms=st.integers(min_value=0, max_value=10**12),
    abandoned_within=st.dictionaries(st.sampled_from([10, 20, 60, 120]), counts, max_size=4),
)


@given(buckets, buckets)
def test_merge_adds_field_by_field(a: CallBucket, b: CallBucket) -> None:
    got = a.merge(b)
    for f in dataclasses.fields(CallBucket):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, dict):
            want = {t: x.get(t, 0) + y.get(t, 0) for t in x.keys() | y.keys()}
        else:
            want = x + y
        assert getattr(got, f.name) == want, f.name


@given(buckets, buckets, buckets)
def test_merge_is_associative(a: CallBucket, b: CallBucket, c: CallBucket) -> None:
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@given(buckets, buckets)
def test_merge_is_commutative_and_leaves_its_inputs_alone(a: CallBucket, b: CallBucket) -> None:
    a_before, b_before = copy.deepcopy(a), copy.deepcopy(b)
    assert a.merge(b) == b.merge(a)
    assert (a, b) == (a_before, b_before)


@given(buckets)
def test_empty_bucket_is_neutral(a: CallBucket) -> None:
    assert a.merge(CallBucket()) == a == CallBucket().merge(a)


@given(st.lists(buckets, max_size=8))
def test_total_is_repeated_merge(bs: list[CallBucket]) -> None:
    assert total(bs) == reduce(CallBucket.merge, bs, CallBucket())


# --- fold_calls against the definitions --------------------------------------------------

START = datetime(2022, 10, 29, 22, tzinfo=UTC)  # local midnight before the autumn DST change
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUEUES = [
    ("askersund", "Askersund"),
    ("hallsberg", "Hallsberg"),
    ("laxa", "Laxå"),
    ("gemensam", "shared"),
]
ZONES = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=2))]
KINDS = ["call.queued", "call.answered", "call.abandoned", "call.exited", "call.completed"]
# Whole milliseconds, as the bucket keeps them; the edges of every rule are drawn often.
WAIT_MS = st.one_of(
    st.sampled_from([0, 2_500, 4_999, 5_000, 20_000, 20_001, 60_000, 60_001]),
    st.integers(min_value=0, max_value=180_000),
)
rules_st = st.builds(
    CallRules,
    short_abandon_seconds=st.sampled_from([0, 2.5, 5.0, 10.0]),
    thresholds=st.sampled_from([(20, 60), (30,), (10, 20, 60, 120)]),
)


@st.composite
def raw_events(draw: st.DrawFn) -> list[dict[str, Any]]:
    spec = st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from(QUEUES),
        st.integers(min_value=0, max_value=4 * 3_600_000),  # ms after START
        WAIT_MS,
        st.sampled_from(ZONES),
        st.sampled_from(["timeout", "key", "empty", "full", "closed"]),
        st.integers(min_value=0, max_value=3_600_000),  # talk ms of call.completed
    )
    out = []
    for n, (kind, (queue, muni), at_ms, wait_ms, zone, reason, talk_ms) in enumerate(
        draw(st.lists(spec, max_size=40))
    ):
        at = (START + timedelta(milliseconds=at_ms)).astimezone(zone)
        wait = wait_ms / 1000
        out.append(
            raw_call(
                kind,
                at.isoformat(timespec="milliseconds"),
                wait,
                n=n,
                queue=queue,
                municipality=muni,
                reason=reason,
            )
        )
        if kind == "call.completed":
            out[-1]["data"]["talk_seconds"] = talk_ms / 1000
    return out


def reference_groups(events: list[dict[str, Any]]) -> dict[tuple[int, str, str], list[Any]]:
    """(entry hour, queue, municipality) -> [(type, wait, talk)] of calls that ended their
    stay or their conversation (call.completed: entered at time - talk - wait)."""
    groups: dict[tuple[int, str, str], list[Any]] = {}
    for e in events:
        if e["type"] == "call.queued":
            continue
        wait = e["data"]["wait_seconds"]
        talk = e["data"].get("talk_seconds", 0)
        entered = datetime.fromisoformat(e["time"]) - timedelta(seconds=wait + talk)
        entry_hour = (entered - EPOCH) // timedelta(hours=1) * 3600  # exact, no float
        key = (entry_hour, e["data"]["queue"], e["data"]["municipality"])
        groups.setdefault(key, []).append((e["type"], wait, talk))
    return groups


def reference_figures(events: list[Any], rules: CallRules) -> dict[str, Any]:
    """The call figures of docs/definitions.md#calls (and README's talk time, Asterisk SL and SL2) for a list
    of (type, wait, talk) of calls."""

    def ratio(num: float, den: float) -> float | None:
        return num / den if den else None

    talks = [talk for t, _, talk in events if t == "call.completed"]
    calls = [(t, w) for t, w, _ in events if t != "call.completed"]
    answered = [w for t, w in calls if t == "call.answered"]
    abandoned = [w for t, w in calls if t == "call.abandoned"]
    short = sum(1 for w in abandoned if w < rules.short_abandon_seconds)
    considered = len(calls) - short
    within = {str(t): sum(1 for w in answered if w <= t) for t in rules.thresholds}
    ab_within = {str(t): sum(1 for w in abandoned if w <= t) for t in rules.thresholds}
    ended = len(answered) + len(abandoned)
    return {
        "offered": len(calls),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "short_abandoned": short,
        "exited": sum(1 for t, _ in calls if t == "call.exited"),
        "answered_within": within,
        "service_level": {t: ratio(n, considered) for t, n in within.items()},
        "abandon_rate": ratio(len(abandoned) - short, considered),
        "asa_seconds": ratio(sum(answered), len(answered)),
        "avg_wait_seconds": ratio(sum(w for _, w in calls), len(calls)),
        "talked": len(talks),
        "aht_seconds": ratio(sum(talks), len(talks)),
        "abandoned_within": ab_within,
        "asterisk_sl": {t: ratio(n, len(answered)) for t, n in within.items()},
        "asterisk_sl2": {t: ratio(n + ab_within[t], ended) for t, n in within.items()},
    }


def assert_figures(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Counts and None exactly; ratios and means to 1e-9 (sums in a different order)."""

    def flat(figures: dict[str, Any]) -> dict[str, Any]:
        # {"service_level": {"20": x}} -> {"service_level.20": x}
        out: dict[str, Any] = {}
        for k, v in figures.items():
            out |= {f"{k}.{t}": x for t, x in v.items()} if isinstance(v, dict) else {k: v}
        return out

    g, w = flat(got), flat(want)
    assert g.keys() == w.keys()
    for k, v in w.items():
        if isinstance(v, float):
            assert g[k] is not None and math.isclose(g[k], v, rel_tol=1e-9), (k, g[k], v)
        else:
            assert g[k] == v and type(g[k]) is type(v), (k, g[k], v)


def fold_raw(events: list[dict[str, Any]], rules: CallRules) -> dict[BucketKey, CallBucket]:
    return fold_calls([parse_call(e) for e in events], rules)


@given(raw_events(), rules_st)
def test_total_figures_follow_the_definitions(
    events: list[dict[str, Any]], rules: CallRules
) -> None:
    got = call_figures(total(fold_raw(events, rules).values()), rules.thresholds)
    every_call = [c for calls in reference_groups(events).values() for c in calls]
    assert_figures(got, reference_figures(every_call, rules))


@given(raw_events(), rules_st)
def test_each_bucket_follows_the_definitions(
    events: list[dict[str, Any]], rules: CallRules
) -> None:
    got = {
        (k.hour, k.queue, k.municipality): call_figures(b, rules.thresholds)
        for k, b in fold_raw(events, rules).items()
    }
    want = {k: reference_figures(calls, rules) for k, calls in reference_groups(events).items()}
    assert got.keys() == want.keys()
    for k in want:
        assert_figures(got[k], want[k])


@given(raw_events(), rules_st, st.data())
def test_folding_in_two_parts_and_merging_equals_folding_all(
    events: list[dict[str, Any]], rules: CallRules, data: st.DataObject
) -> None:
    # Late events, replays and parallel workers all rely on this.
    side = data.draw(st.lists(st.booleans(), min_size=len(events), max_size=len(events)))
    a = fold_raw([e for e, s in zip(events, side, strict=True) if s], rules)
    b = fold_raw([e for e, s in zip(events, side, strict=True) if not s], rules)
    merged = {k: a.get(k, CallBucket()).merge(b.get(k, CallBucket())) for k in a.keys() | b.keys()}
    assert merged == fold_raw(events, rules)


def test_thresholds_are_judged_on_the_exact_wait_not_the_rounded_one() -> None:
    # 20.0004 s rounds to 20.000 s in the millisecond sums but is not within 20 s;
    # 4.9996 s rounds to 5.000 s but is still a short abandon (< 5 s).
    _, late = fold_one("call.answered", "2022-05-02T10:00:30+00:00", 20.0004)
    assert late.answered_within == {20: 0, 60: 1}
    _, short = fold_one("call.abandoned", "2022-05-02T10:00:30+00:00", 4.9996)
    assert short.short_abandoned == 1


def test_entered_at_decides_the_hour_over_time_minus_wait() -> None:
    # Answered at 11:00:30 after a logged wait of 5 s, but the source saw it enter
    # at 10:59:50: it counts in hour 10, within 20 s (judged on the logged wait).
    e = raw_call("call.answered", "2022-09-13T11:00:30Z", 5)
    e["data"]["entered_at"] = "2022-09-13T10:59:50Z"
    key, delta = fold_event(e)
    assert key.hour == hour("2022-09-13T10:00:00+00:00")
    assert delta.answered_within == {20: 1, 60: 1}


def test_completed_call_adds_its_talk_time_and_no_call() -> None:
    # Entered 10:59:30, waited 20 s, talked 125.5 s, hung up 11:01:55.5: hour 10.
    e = raw_call("call.completed", "2022-09-13T11:01:55.5Z", 20)
    e["data"]["talk_seconds"] = 125.5
    key, delta = fold_event(e)
    assert key.hour == hour("2022-09-13T10:00:00+00:00")
    assert delta == CallBucket(talked=1, talk_ms=125_500)
    # With entered_at, that decides: 11:00:10 is hour 11.
    e["data"]["entered_at"] = "2022-09-13T11:00:10Z"
    key, _ = fold_event(e)
    assert key.hour == hour("2022-09-13T11:00:00+00:00")


def test_abandons_within_thresholds() -> None:
    _, delta = fold_one("call.abandoned", "2022-09-13T10:30:00Z", 20)
    assert delta.abandoned_within == {20: 1, 60: 1}  # at the threshold is within
    _, delta = fold_one("call.abandoned", "2022-09-13T10:30:00Z", 20.5)
    assert delta.abandoned_within == {20: 0, 60: 1}
