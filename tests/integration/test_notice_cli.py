"""`opstrack notice`: a bad notice is refused before anything is sent, naming the field."""

from __future__ import annotations

from services.stack.procs import free_port
from tests.e2e.stack import opstrack


def test_a_bad_planned_window_is_named_and_nothing_is_sent() -> None:
    # Nothing listens on the port: reaching it would be a different error.
    url = f"http://127.0.0.1:{free_port()}"
    done = opstrack(
        "notice", "change", "CHG-1", "--service", "serverdrift",
        "--start", "tomorrow", "--end", "2026-12-08T18:00+01:00",
        "--what", "Stängt för underhåll.", "--url", url,
    )  # fmt: skip
    assert done.returncode == 1
    assert "data.planned_start" in done.stderr and "cannot reach" not in done.stderr


def test_english_details_need_the_english_text() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = opstrack(
        "notice", "incident", "INC-1", "--service", "processmotor",
        "--what", "Nere.", "--action-en", "Restarting.", "--url", url,
    )  # fmt: skip
    assert done.returncode == 1
    assert "--action-en need --what-en" in done.stderr.replace("\n", " ")


def test_control_characters_are_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = opstrack(
        "notice", "incident", "INC-1", "--service", "processmotor",
        "--what", "Nere\x07", "--url", url,
    )  # fmt: skip
    assert done.returncode == 1
    assert "data.notice.sv.what" in done.stderr and "U+0007" in done.stderr
