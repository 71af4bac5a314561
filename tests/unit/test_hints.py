"""The commands `opstrack up` and `demo` print: runnable from the user's shell as printed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from services.commands.hints import Cli, cli_for
from services.commands.options import DEFAULT_URL

VENV_BIN = Path(sys.executable).parent


def test_url_is_added_only_off_the_default() -> None:
    assert Cli("opstrack", DEFAULT_URL).run("sli", "calls") == "opstrack sli calls"
    assert (
        Cli("opstrack", "http://127.0.0.1:8123").run("sli", "calls", "--period", "2022")
        == "opstrack sli calls --period 2022 --url http://127.0.0.1:8123"
    )
    assert Cli("opstrack", "http://127.0.0.1:8123").run("token", "list", url=False) == (
        "opstrack token list"
    )


def test_url_is_left_out_when_opstrack_url_points_there(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSTRACK_URL", "http://127.0.0.1:8123")
    assert Cli("opstrack", "http://127.0.0.1:8123").run("report") == "opstrack report"
    assert Cli("opstrack", DEFAULT_URL).run("report") == f"opstrack report --url {DEFAULT_URL}"


def test_words_with_spaces_are_quoted() -> None:
    assert Cli("opstrack", DEFAULT_URL).run("emit", "my events.ndjson") == (
        "opstrack emit 'my events.ndjson'"
    )


@pytest.mark.skipif(not (VENV_BIN / "opstrack").exists(), reason="needs the installed script")
def test_the_script_by_name_only_when_path_finds_this_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", f"{VENV_BIN}:/usr/bin:/bin")
    assert cli_for(DEFAULT_URL).program == "opstrack"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    # From the directory holding the virtualenv (as after `make run`): a relative path.
    here = VENV_BIN.parent.parent
    cli = cli_for(DEFAULT_URL, cwd=here)
    assert cli.program == str((VENV_BIN / "opstrack").relative_to(here))
    assert cli.activate == f"source {(VENV_BIN / 'activate').relative_to(here)}"
    # From elsewhere: the absolute path.
    assert cli_for(DEFAULT_URL, cwd=tmp_path).program == str(VENV_BIN / "opstrack")
