"""The Asterisk queue_log import against a real opstrack stack (`opstrack up` in a subprocess).

A file imported twice counts once; a follower that is stopped and started
again, while the log is appended to, rotated (renamed, and copied and
truncated), loses no call and counts none twice.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from services.client import ClientError
from services.commands.asterisk import asterisk
from services.ingest.asterisk_import import ImportSummary, import_file, state_path
from services.settings import CONFIG_DIR
from tests.e2e.stack import Up
from tests.unit.test_asterisk import EXPECTED_08, EXPECTED_09, QUEUE_LOG, flat
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

QUEUES_FILE = CONFIG_DIR / "queues.yaml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    up = Up(tmp_path_factory.mktemp("asterisk-stack"))
    up.start()
    yield up
    up.stop()


def sli_rows(url: str, period: str, group_by: str | None = None) -> list[dict[str, Any]]:
    params = {"period": period} | ({"group_by": group_by} if group_by else {})
    r = httpx.get(f"{url}/v1/sli/calls", params=params, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["rows"])


def figures_equal(row: dict[str, Any], expected: dict[str, Any]) -> None:
    got = {k: v for k, v in flat(row).items() if k in flat(expected)}
    assert got == pytest.approx(flat(expected))


# -- import a file, twice -----------------------------------------------------


def run_command(*args: str) -> Any:
    app = typer.Typer()
    app.command()(asterisk)
    return CliRunner().invoke(app, list(args))


def test_a_file_imported_twice_counts_once(stack: Up, tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_text(QUEUE_LOG)
    args = (str(log), "--url", stack.url, "--queues", str(QUEUES_FILE))

    first = run_command(*args)
    assert first.exit_code == 0, (first.output, first.exception)
    assert first.stdout.strip() == (
        "read 50 lines: sent 35 events: 35 accepted, 0 duplicates;"
        " 5 lines skipped; 1 call still in a queue"
    )
    assert "queue_log line 35: not a queue_log line" in first.stderr
    assert "queue_log line 45: ABANDON: the wait (data3) is not a number of seconds" in first.stderr
    assert 'municipality "unknown"): vaxel' in first.stderr

    def hours_as_worked_by_hand() -> bool:
        rows = sli_rows(stack.url, "2022-05-02", "hour")
        assert [r["bucket_start"] for r in rows] == [
            "2022-05-02T10:00:00+02:00",  # 08 UTC
            "2022-05-02T11:00:00+02:00",  # 09 UTC
        ]
        figures_equal(rows[0], EXPECTED_08)
        figures_equal(rows[1], EXPECTED_09)
        return True

    wait_until(hours_as_worked_by_hand, "the hand-worked service levels")
    by_municipality = {
        r["municipality"]: r["offered"] for r in sli_rows(stack.url, "2022-05-02", "municipality")
    }
    assert by_municipality == {
        "Askersund": 4,
        "Hallsberg": 2,
        "Laxå": 2,
        "Lekeberg": 3,
        "shared": 3,
        "unknown": 1,
    }

    again = run_command(*args, "--json")
    assert again.exit_code == 0, (again.output, again.exception)
    summary = json.loads(again.stdout)
    assert (summary["events"], summary["accepted"], summary["duplicates"]) == (35, 0, 35)
    assert [(s["line"], s["file"]) for s in summary["skipped"]] == [
        (35, "queue_log"),
        (36, "queue_log"),
        (37, "queue_log"),
        (38, "queue_log"),
        (45, "queue_log"),
    ]
    # Nothing was accepted, so nothing reached the stream: the figures stay as they were.
    hours_as_worked_by_hand()


def test_bad_input_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="no such file"):
        asterisk(tmp_path / "nope", "http://127.0.0.1:1", QUEUES_FILE)
    (tmp_path / "queues.yaml").write_text("queues: [askersund]\n")
    (tmp_path / "queue_log").write_text(QUEUE_LOG)
    with pytest.raises(ValueError, match=r"queues\.yaml: `queues:` must map"):
        import_file(tmp_path / "queue_log", "http://127.0.0.1:1", tmp_path / "queues.yaml")


# -- follow, stop, append, rotate, start again --------------------------------

T0 = 1651564800  # 2022-05-03 08:00:00 UTC


def call(n: int, queue: str, outcome: str, wait: int) -> list[str]:
    """The queue_log lines of one call that enters at T0 + 3n minutes, as Asterisk writes them."""
    enter = T0 + 180 * n
    uid = f"{enter}.{n}"
    end = enter + wait
    lines = [f"{enter}|{uid}|{queue}|NONE|ENTERQUEUE||07000000{n:02d}|1"]
    if outcome == "answered":
        lines += [
            f"{end}|{uid}|{queue}|PJSIP/20{n % 10}|CONNECT|{wait}|{end - 2}.9{n}|2",
            f"{end + 95}|{uid}|{queue}|PJSIP/20{n % 10}|COMPLETECALLER|{wait}|95|1",
        ]
    elif outcome == "abandoned":
        lines.append(f"{end}|{uid}|{queue}|NONE|ABANDON|1|1|{wait}")
    elif outcome == "timeout":
        lines.append(f"{end}|{uid}|{queue}|NONE|EXITWITHTIMEOUT|1|1|{wait}")
    elif outcome == "empty":
        lines.append(f"{end}|{uid}|{queue}|NONE|EXITEMPTY|1|1|{wait}")
    elif outcome == "old-key":  # an older Asterisk: key|position, no wait
        lines.append(f"{end}|{uid}|{queue}|NONE|EXITWITHKEY|9|1")
    return lines


def text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def append(path: Path, data: str) -> None:
    with path.open("a") as fh:
        fh.write(data)


class Follower:
    """`import_file(..., follow=True)` in a thread, stopped the way Ctrl-C stops it."""

    def __init__(self, log: Path, url: str, state_dir: Path) -> None:
        self.stop = threading.Event()
        self.summary: ImportSummary | None = None
        self.error: BaseException | None = None

        def run() -> None:
            try:
                self.summary = import_file(
                    log, url, QUEUES_FILE, True, state_dir, stop=self.stop, poll_seconds=0.05
                )
            except BaseException as exc:
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def halt(self) -> ImportSummary:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the follower did not stop"
        if self.error is not None:
            raise self.error
        assert self.summary is not None
        return self.summary


def caught_up(log: Path, state_file: Path, unfinished: int = 0) -> Callable[[], bool]:
    """True once the follower's saved place is the end of `log` (less a line being written)."""

    def check() -> bool:
        if not state_file.exists():
            return False
        state = json.loads(state_file.read_text())
        st = log.stat()
        return bool(state["inode"] == st.st_ino and state["offset"] == st.st_size - unfinished)

    return check


def test_follow_survives_restarts_and_rotation(stack: Up, tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    state_dir = tmp_path / "state"
    state_file = state_path(state_dir, log)

    call6 = call(6, "askersund", "abandoned", 3)
    part1 = (
        call(1, "askersund", "answered", 10)
        + call(2, "hallsberg", "answered", 30)
        + call(3, "laxa", "abandoned", 20)
        + call(4, "lekeberg", "timeout", 100)
        + call(5, "gemensam", "answered", 70)
    )
    x = call(20, "lekeberg", "old-key", 100)  # its end needs its enter: from the saved state
    y = call(21, "gemensam", "answered", 40)
    half = len(call6[0]) // 2
    log.write_text(text([*part1, x[0], y[0]]) + call6[0][:half])  # the last line is unfinished

    follower = Follower(log, stack.url, state_dir)
    wait_until(caught_up(log, state_file, unfinished=half), "the first lines")
    append(log, call6[0][half:] + "\n" + text(call6[1:] + call(7, "hallsberg", "answered", 15)))
    wait_until(caught_up(log, state_file), "the appended lines")
    first = follower.halt()
    assert first.pending_stays == 2  # X and Y are still in their queues
    assert first.skipped == []
    sent_before = first.accepted

    # While no follower runs: X ends, the log is rotated (renamed) and Y ends in the new file.
    append(log, text([x[1], *call(8, "laxa", "answered", 5)]))
    log.rename(tmp_path / "queue_log.1")
    log.write_text(text([*y[1:], *call(9, "askersund", "empty", 8)]))

    follower = Follower(log, stack.url, state_dir)
    wait_until(caught_up(log, state_file), "the rest of queue_log.1 and the new queue_log")

    # Rotation while it runs: renamed, Asterisk still writes to the old file until it
    # reopens the name, then writes to the new one.
    (tmp_path / "queue_log.1").rename(tmp_path / "queue_log.2")
    append(log, text(call(10, "hallsberg", "answered", 20)))
    log.rename(tmp_path / "queue_log.1")
    append(tmp_path / "queue_log.1", text(call(11, "laxa", "abandoned", 50)))
    log.write_text(text(call(12, "askersund", "answered", 61)))
    wait_until(caught_up(log, state_file), "the file after a rename")

    # copytruncate: the same file, emptied and written again.
    with log.open("r+") as fh:
        fh.truncate(0)
    append(log, text(call(13, "gemensam", "answered", 25)))
    wait_until(caught_up(log, state_file), "the file after a truncation")
    second = follower.halt()
    assert second.resumed_at is not None
    assert second.rotations == 3
    assert second.pending_stays == 0
    assert second.skipped == []

    # 15 calls, all entered 08:00-08:59 UTC (10:00 local):
    #   answered 1 (10 s), 2 (30), 5 (70), 7 (15), Y (40), 8 (5), 10 (20), 12 (61), 13 (25) = 9
    #   abandoned 3 (20), 6 (3, short), 11 (50) = 3; exited 4 timeout, X key, 9 empty = 3
    #   within 20 s: 1, 7, 8, 10 = 4; within 60 s: those and 2, Y, 13 = 7
    #   considered 15 - 1 = 14: service level 4/14 and 7/14, abandon rate 2/14
    expected = {
        "offered": 15,
        "answered": 9,
        "abandoned": 3,
        "short_abandoned": 1,
        "exited": 3,
        "answered_within": {"20": 4, "60": 7},
        "service_level": {"20": 4 / 14, "60": 7 / 14},
        "abandon_rate": 2 / 14,
        "asa_seconds": (10 + 30 + 70 + 15 + 40 + 5 + 20 + 61 + 25) / 9,
    }

    def all_counted_once() -> bool:
        rows = sli_rows(stack.url, "2022-05-03")
        assert len(rows) == 1
        figures_equal(rows[0], expected)
        return True

    wait_until(all_counted_once, "every call of the followed log")
    # 15 calls: 15 queued + 15 ends + 9 talk ends (COMPLETECALLER of the answered
    # ones), each accepted once over both runs.
    assert sent_before + second.accepted == 39

    # Importing every file that is left again sends only duplicates.
    for name in ("queue_log.2", "queue_log.1", "queue_log"):
        again = import_file(tmp_path / name, stack.url, QUEUES_FILE)
        assert again.accepted == 0, name
    all_counted_once()

    state = state_file.read_text()
    assert "0700000" not in state  # no caller number in the saved state
    assert os.stat(log).st_ino == json.loads(state)["inode"]
