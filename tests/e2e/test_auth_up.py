"""`opstrack up` on a fresh database prints a dev token, once, and that token works."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import BATCH, Up, opstrack
from tests.reference import generate_calls, utc

pytestmark = pytest.mark.e2e


def post(url: str, body: object, token: str | None) -> httpx.Response:
    headers = {"content-type": BATCH} | ({"authorization": f"Bearer {token}"} if token else {})
    return httpx.post(f"{url}/v1/events", content=json.dumps(body), headers=headers, timeout=30)


def shown(tmp: Path, pattern: str, timeout: float = 30) -> re.Match[str]:
    """The match of `pattern` in what `opstrack up` printed (it prints once ready)."""
    deadline = time.monotonic() + timeout
    while not (found := re.search(pattern, text := (tmp / "up.out").read_text())):
        assert time.monotonic() < deadline, f"`opstrack up` printed no {pattern!r}:\n{text}"
        time.sleep(0.1)
    return found


def test_first_up_prints_a_working_dev_token_and_later_ups_do_not(tmp_path: Path) -> None:
    stack = Up(tmp_path, env={"OPSTRACK_DEV_TOKEN": ""})  # no token configured
    events = generate_calls(5, seed=7, start=utc(2022, 5, 2, 8), hours=1)
    try:
        stack.start()
        token = shown(tmp_path, r"export OPSTRACK_API_TOKEN=(\S+)").group(1)
        assert token.startswith("ops_")

        assert post(stack.url, events, None).status_code == 401
        assert post(stack.url, events, token + "x").status_code == 401
        r = post(stack.url, events, token)
        assert r.status_code == 202, r.text
        assert r.json() == {"accepted": len(events), "duplicates": 0, "conflicts": []}
        stack.stop()

        listed = opstrack("token", "list", "--db", f"sqlite:///{tmp_path / 'opstrack.db'}")
        assert listed.returncode == 0, listed.stderr
        assert " dev " in listed.stdout and token not in listed.stdout

        # The store holds a token now: a second start makes no new one, prints none,
        # and the first one still works.
        (tmp_path / "up.out").write_text("")
        stack.start()
        again = shown(tmp_path, r"tokens +opstrack token list").string
        assert "ops_" not in again, again
        assert post(stack.url, events, token).json() == {
            "accepted": 0,
            "duplicates": len(events),
            "conflicts": [],
        }
    finally:
        if stack.proc is not None:
            stack.stop()
