"""tests/waiting.py: a wait that cannot succeed says why, at once; gather keeps all it read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.waiting import ended, gather, wait_for, wait_until


def never() -> None:
    raise AssertionError("not there")


def test_give_up_ends_the_wait_at_once_with_its_reason() -> None:
    asked = []

    def reason() -> str | None:
        asked.append(1)
        return "the producer died" if len(asked) == 3 else None

    # A timeout no test would reach: the third failed try ends it.
    with pytest.raises(AssertionError, match="gave up waiting for the thing: the producer died"):
        wait_for(never, "the thing", 3600, interval=0, give_up=reason)
    assert len(asked) == 3


def test_the_check_wins_over_give_up() -> None:
    assert wait_until(lambda: 7, "seven", give_up=lambda: "too late") == 7


def test_ended_names_the_process_and_the_end_of_its_output(tmp_path: Path) -> None:
    log = tmp_path / "out"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-c", "print('bye'); exit(3)"], stdout=out)
        proc.wait(30)
    reason = ended((proc, log))()
    assert reason is not None
    assert reason.startswith(f"{sys.executable} ended with 3")
    assert reason.endswith("bye\n")


def test_gather_keeps_everything_read_until_there_is_enough() -> None:
    reads = iter([[1], [], [2, 3], [4]])
    assert gather(lambda: next(reads), 3, "three") == [1, 2, 3]


def test_gather_fails_naming_how_many_it_got() -> None:
    reads = iter([[1]])
    with pytest.raises(AssertionError, match=r"waited 0 s for two; last: .*1 of 2"):
        gather(lambda: next(reads, []), 2, "two", 0)
