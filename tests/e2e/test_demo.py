"""`make run` is `opstrack demo`: a fresh stack comes up populated with the seed's half-year,
then keeps the department live in today's year."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

from services.core.periods import STOCKHOLM
from services.stack.procs import free_port
from tests.waiting import ended, wait_until

pytestmark = pytest.mark.e2e


def offered(url: str, period: dict[str, str]) -> int:
    rows = httpx.get(f"{url}/v1/sli/calls", params=period, timeout=30).json()["rows"]
    return sum(row["offered"] or 0 for row in rows)


def test_demo_shows_a_populated_tracker(tmp_path: Path) -> None:
    port, worker_port = free_port(), free_port()
    argv = [
        sys.executable, "-m", "services.cli", "demo",
        "--port", str(port), "--worker-port", str(worker_port),
        "--db", f"sqlite:///{tmp_path / 'opstrack.db'}", "--state-dir", str(tmp_path / "state"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSTRACK_")}
    log = (tmp_path / "demo.out").open("w")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, text=True)
    demo_ended = ended((proc, tmp_path / "demo.out"))
    try:
        wait_until(
            lambda: "Demo data loaded" in (tmp_path / "demo.out").read_text(),
            "the demo to finish loading",
            300,
            give_up=demo_ended,
        )
        url = f"http://127.0.0.1:{port}"
        period = {"period": "2022-01-01..2022-07-31"}
        [calls] = httpx.get(f"{url}/v1/sli/calls", params=period, timeout=30).json()["rows"]
        [tickets] = httpx.get(f"{url}/v1/sli/tickets", params=period, timeout=30).json()["rows"]
        # Near the seed's interim report: 78 % within 20 s, handling time 25 (hours).
        assert 0.75 <= calls["service_level"]["20"] <= 0.81
        assert 22 <= tickets["handling_time_hours"]["mean"] <= 28
        report = tmp_path / "state" / "report-2022-jan-jul.html"
        assert "Uppnått" in report.read_text(encoding="utf-8")
        # The `try` hints run as printed (the port is not the default: --url is there).
        printed = (tmp_path / "demo.out").read_text()
        tries = re.search(r"(?m)^  try +(.+)\n((?: {18}.+\n)*)", printed)
        assert tries, printed
        lines = [tries.group(1), *(t.strip() for t in tries.group(2).splitlines())]
        commands = [line for line in lines if not line.startswith("(")]
        assert len(commands) == 3, lines
        for command in commands:
            assert f"--url {url}" in command
            done = subprocess.run(
                shlex.split(command), capture_output=True, text=True, timeout=120, env=env
            )
            assert done.returncode == 0, f"{command}: {done.stderr}"
            assert "…" not in done.stdout, done.stdout  # the tables fit, nothing cut
        # Then this year so far, from 1 January: its calls arrive. (Before 5 January no
        # open day may have passed yet: 1 January is a holiday, then maybe a weekend.)
        today = datetime.now(tz=STOCKHOLM).date()
        if today >= date(today.year, 1, 5):
            this_year = {"period": str(today.year)}
            wait_until(
                lambda: httpx.get(f"{url}/v1/sli/calls", params=this_year, timeout=30).json()[
                    "rows"
                ],
                "a call of this year",
                300,
                give_up=demo_ended,
            )
        # Stopped while it is still sending: the demo ends cleanly all the same.
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        log.close()
