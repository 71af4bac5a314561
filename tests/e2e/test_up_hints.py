"""The commands `opstrack up` prints run as printed, on a port that is not the default."""

from __future__ import annotations

import os
import shlex
import subprocess

from tests.e2e.stack import Up


def test_the_printed_commands_run_as_printed(up: Up) -> None:
    up.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSTRACK_")}
    for label, expect in (("service levels", "Calls"), ("goal report", "Indikator")):
        line = up.shown(rf"(?m)^  {label} +(.+?)   or   ").group(1)
        assert f"--url {up.url}" in line  # a free port, not the default 8000
        done = subprocess.run(
            shlex.split(line), capture_output=True, text=True, timeout=120, check=False, env=env
        )
        assert done.returncode == 0, f"{line}: {done.stderr}"
        assert expect in done.stdout, done.stdout
