"""Secrets `opstrack up` keeps on disk: files only their owner can read."""

from __future__ import annotations

import os
from pathlib import Path


def write_secret(path: Path, value: str) -> Path:
    """Write `value` to `path` as 0600, replacing any older file (whose mode may be wider)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    # O_EXCL with mode 0600: the file never exists with wider permissions, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.replace(tmp, path)
    return path
