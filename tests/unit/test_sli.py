"""Tests for services.core.sli: the call figures of one bucket, worked out by hand."""

from __future__ import annotations

from services.core.calls import CallBucket
from services.core.sli import call_figures
from tests.reference import NO_CALLS


def test_typical_bucket() -> None:
    # 10 offered: 7 answered (5 within 20 s, 6 within 60 s), 2 abandoned of which
    # 1 short, 1 exited. Considered = 10 - 1 = 9.
    b = CallBucket(
        offered=10,
        answered=7,
        abandoned=2,
        short_abandoned=1,
        exited=1,
        answered_within={20: 5, 60: 6},
        wait_answered_ms=147_000,
        wait_offered_ms=250_500,
    )
    assert call_figures(b, (20, 60)) == {
        "offered": 10,
        "answered": 7,
        "abandoned": 2,
        "short_abandoned": 1,
        "exited": 1,
        "answered_within": {"20": 5, "60": 6},
        "service_level": {"20": 5 / 9, "60": 6 / 9},
        "abandon_rate": 1 / 9,
        "asa_seconds": 21.0,  # 147 s / 7
        "avg_wait_seconds": 25.05,  # 250.5 s / 10
        "talked": 0,
        "aht_seconds": None,
        "abandoned_within": {"20": 0, "60": 0},
        "asterisk_sl": {"20": 5 / 7, "60": 6 / 7},  # within / answered
        "asterisk_sl2": {"20": 5 / 9, "60": 6 / 9},  # (within + 0) / (7 + 2)
    }


def test_empty_bucket_has_no_figures() -> None:
    # Nothing to measure is null, never 0.
    assert call_figures(CallBucket(), (20, 60)) == NO_CALLS


def test_only_short_abandons() -> None:
    # Both hung up before anyone could answer: nothing to rate, but they did wait.
    b = CallBucket(offered=2, abandoned=2, short_abandoned=2, wait_offered_ms=5_500)
    f = call_figures(b, (20, 60))
    assert f["service_level"] == {"20": None, "60": None}
    assert f["abandon_rate"] is None
    assert f["asa_seconds"] is None
    assert f["avg_wait_seconds"] == 2.75


def test_nothing_answered_is_zero_service_level_not_none() -> None:
    # 3 calls that could have been answered and were not: 0 % is a measurement.
    b = CallBucket(offered=3, abandoned=2, exited=1, wait_offered_ms=300_000)
    f = call_figures(b, (20, 60))
    assert f["service_level"] == {"20": 0.0, "60": 0.0}
    assert f["abandon_rate"] == 2 / 3
    assert f["asa_seconds"] is None
    assert f["avg_wait_seconds"] == 100.0


def test_all_answered_at_once() -> None:
    b = CallBucket(
        offered=4,
        answered=4,
        answered_within={20: 4, 60: 4},
        wait_answered_ms=0,
        wait_offered_ms=0,
    )
    f = call_figures(b, (20, 60))
    assert f["service_level"] == {"20": 1.0, "60": 1.0}
    assert f["abandon_rate"] == 0.0
    assert (f["asa_seconds"], f["avg_wait_seconds"]) == (0.0, 0.0)


def test_thresholds_name_the_figures() -> None:
    b = CallBucket(
        offered=2,
        answered=2,
        answered_within={30: 1},
        wait_answered_ms=40_000,
        wait_offered_ms=40_000,
    )
    f = call_figures(b, (30,))
    assert f["answered_within"] == {"30": 1}
    assert f["service_level"] == {"30": 0.5}


def test_talk_time_and_asterisk_service_levels() -> None:
    # 8 offered: 5 answered (3 within 20 s, 4 within 60 s), 3 abandoned (1 short,
    # after 2 s; 1 after 15 s; 1 after 90 s): 2 within 20 s, 2 within 60 s.
    # 4 of the answered reported talk times summing to 10 minutes.
    b = CallBucket(
        offered=8,
        answered=5,
        abandoned=3,
        short_abandoned=1,
        answered_within={20: 3, 60: 4},
        abandoned_within={20: 2, 60: 2},
        talked=4,
        talk_ms=600_000,
    )
    f = call_figures(b, (20, 60))
    assert f["aht_seconds"] == 150.0
    assert f["service_level"] == {"20": 3 / 7, "60": 4 / 7}  # opstrack: / (8 - 1)
    assert f["asterisk_sl"] == {"20": 3 / 5, "60": 4 / 5}  # / answered
    assert f["asterisk_sl2"] == {"20": 5 / 8, "60": 6 / 8}  # / (answered + abandoned)
