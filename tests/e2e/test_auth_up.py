"""`opstrack up` on a fresh database makes a dev token, once, and that token works.

It shows the token on a terminal only; when its output goes elsewhere (a log, a
pipe) the token goes to a file only its owner can read, and the output says where.
The database and the state dir are private to their owner as well.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import BATCH, Up, opstrack
from tests.reference import generate_calls, utc

pytestmark = pytest.mark.e2e


def post(url: str, body: object, token: str | None) -> httpx.Response:
    headers = {"content-type": BATCH} | ({"authorization": f"Bearer {token}"} if token else {})
    return httpx.post(f"{url}/v1/events", content=json.dumps(body), headers=headers, timeout=30)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_first_up_makes_a_working_dev_token_and_later_ups_do_not(tmp_path: Path) -> None:
    stack = Up(tmp_path, env={"OPSTRACK_DEV_TOKEN": ""})  # no token configured
    events = generate_calls(5, seed=7, start=utc(2022, 5, 2, 8), hours=1)
    try:
        stack.start()
        # Its output is a file here, not a terminal: the token is in a private file.
        where = stack.shown(r"dev token +in (\S+)").group(1)
        token_file = tmp_path / "state" / "dev-token"
        assert Path(where) == token_file
        assert f'export OPSTRACK_API_TOKEN="$(cat {token_file})"' in stack.printed()
        token = token_file.read_text().strip()
        assert token.startswith("ops_")
        assert token not in stack.printed()
        assert mode(token_file) == "0o600"
        # The state dir and the database (with its WAL and shared memory, there
        # while the stack runs) are the owner's only.
        assert mode(tmp_path / "state") == "0o700"
        for name in ("opstrack.db", "opstrack.db-wal", "opstrack.db-shm"):
            assert mode(tmp_path / name) == "0o600", name

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
        again = stack.shown(r"tokens +\S*opstrack token list").string
        assert "ops_" not in again, again
        assert post(stack.url, events, token).json() == {
            "accepted": 0,
            "duplicates": len(events),
            "conflicts": [],
        }
    finally:
        if stack.proc is not None:
            stack.stop()


def test_on_a_terminal_the_new_dev_token_is_shown_and_written_nowhere(tmp_path: Path) -> None:
    stack = Up(tmp_path, env={"OPSTRACK_DEV_TOKEN": ""}, tty=True)
    try:
        stack.start()
        token = stack.shown(r"export OPSTRACK_API_TOKEN=(ops_\S+)").group(1)
        assert "shown only now" in stack.printed()
        assert not (tmp_path / "state" / "dev-token").exists()
        events = generate_calls(2, seed=8, start=utc(2022, 5, 2, 8), hours=1)
        assert post(stack.url, events, token).status_code == 202
    finally:
        if stack.proc is not None:
            stack.stop()
