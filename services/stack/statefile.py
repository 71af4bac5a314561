"""What `opstrack up` tells its API through the state dir: how often each child was restarted.

The supervisor serves no HTTP itself; it rewrites this small JSON file after
each restart and the API (a child, which may be restarted too) exports it on
its /metrics as opstrack_stack_restarts_total{child}. Written whole and
renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path


def write_restarts(path: Path, restarts: Mapping[str, int]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"restarts": dict(restarts)}, sort_keys=True))
    os.replace(tmp, path)


def read_restarts(path: Path) -> dict[str, int] | None:
    """The counts, or None when there are none to show (no such file: not under `opstrack up`)."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    counts = data["restarts"]
    return {str(child): int(n) for child, n in counts.items()}
