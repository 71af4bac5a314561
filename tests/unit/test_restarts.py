"""When `opstrack up` restarts a dead child: backoff, reset after a good run, giving up."""

from __future__ import annotations

import pytest

from services.stack.restarts import Backoff, Restarts

POLICY = Backoff(first=0.5, cap=30.0, healthy_after=60.0, give_up_after=10)


def crash_loop(book: Restarts, now: float, deaths: int) -> tuple[list[float | None], float]:
    """The child dies the moment it is restarted, `deaths` times; the delays asked for."""
    delays = []
    for _ in range(deaths):
        delay = book.died(now)
        delays.append(delay)
        if delay is None:
            break
        now += delay
        assert book.due(now) and not book.due(now - 0.01)
        book.restarted(now)
    return delays, now


def test_a_crash_loop_backs_off_doubling_to_the_cap_and_then_gives_up() -> None:
    book = Restarts(POLICY, started_at=0.0)
    delays, _ = crash_loop(book, 1.0, 11)
    # 0.5 doubled each time: 1, 2, 4, 8, 16, then 32 is above the 30 s cap.
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, None]
    assert book.total == 10
    assert not book.pending()


def test_a_child_that_ran_well_for_a_while_starts_again_at_the_first_delay() -> None:
    book = Restarts(POLICY, started_at=0.0)
    _, now = crash_loop(book, 1.0, 4)  # delays 0.5, 1, 2, 4: restarted at 8.5
    assert now == 8.5
    # It now runs 59.9 s: not yet "well", the backoff goes on from where it was.
    assert book.died(now + 59.9) == 8.0
    book.restarted(now + 59.9 + 8.0)
    # Then it runs a full minute: that death is the first in a row again.
    assert book.died(now + 59.9 + 8.0 + 60.0) == 0.5
    assert book.in_a_row == 1 and book.total == 5


def test_a_restart_is_due_only_after_its_delay_and_counts_once() -> None:
    book = Restarts(POLICY, started_at=100.0)
    assert not book.pending() and not book.due(1e9)  # alive: nothing to do
    assert book.died(130.0) == 0.5
    assert book.pending() and not book.due(130.4) and book.due(130.5)
    book.restarted(130.6)
    assert (book.total, book.started_at, book.pending()) == (1, 130.6, False)


@pytest.mark.parametrize(
    "kwargs",
    [{"first": 0}, {"first": 40.0, "cap": 30.0}, {"healthy_after": 0}, {"give_up_after": 0}],
)
def test_a_nonsensical_backoff_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)  # type: ignore[arg-type]
