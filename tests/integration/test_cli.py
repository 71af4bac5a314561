"""The CLI's face: clear one-line errors, nothing sent when a file has bad lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from services.stack.procs import free_port
from tests.builders import call_data, envelope


def opstrack(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
        check=False,
    )


GOOD = envelope(
    "call.answered", call_data("c1", wait=45), id="e1", time="2022-05-02T08:00:45+02:00"
)


def test_emit_lists_every_bad_line_and_sends_nothing(tmp_path: Path) -> None:
    bad_wait = {**GOOD, "id": "e2", "data": {**GOOD["data"], "wait_seconds": "soon"}}
    lines = [json.dumps(GOOD), "{oops", "", json.dumps(bad_wait)]
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(lines) + "\n")
    # A closed port: had anything been sent, the error would be about the connection.
    r = opstrack("emit", str(path), "--url", f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 1
    assert "2 problem(s); nothing was sent" in r.stderr
    assert "line 2: malformed JSON" in r.stderr
    assert "line 4: data.wait_seconds:" in r.stderr
    assert "Traceback" not in r.stderr


def test_unreachable_stack_is_one_clear_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    r = opstrack("sli", "calls", "--period", "2022", "--url", url)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"error: cannot reach opstrack at {url} (is `opstrack up` running? see --url)"
    ]


def test_debug_shows_the_traceback() -> None:
    r = opstrack(
        "--debug", "sli", "calls", "--period", "2022", "--url", f"http://127.0.0.1:{free_port()}"
    )
    assert r.returncode != 0
    assert "Traceback" in r.stderr


def test_emit_reads_stdin_and_rejects_a_missing_file(tmp_path: Path) -> None:
    r = opstrack("emit", str(tmp_path / "nope.ndjson"))
    assert r.returncode == 1
    assert "no such file" in r.stderr
    r = opstrack("emit", "-", "--url", f"http://127.0.0.1:{free_port()}", stdin="{bad\n")
    assert r.returncode == 1
    assert "line 1: malformed JSON" in r.stderr


def test_up_refuses_a_port_in_use(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = opstrack("up", "--port", str(port), "--state-dir", str(tmp_path / "state"))
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"error: port {port} is in use (still after 10 s): choose another with --port"
    )
