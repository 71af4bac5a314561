"""The demo's waiting and its report file (used by `opstrack demo`)."""

from __future__ import annotations

import time
from pathlib import Path

from services import client


def settle(url: str, period: str, timeout: float = 300.0, quiet_for: float = 3.0) -> None:
    """Wait until the figures stop moving: the processors have caught up with what was sent."""
    deadline = time.monotonic() + timeout
    last: object = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        now = (
            client.get_json(url, "/v1/sli/calls", {"period": period})["rows"],
            client.get_json(url, "/v1/sli/tickets", {"period": period})["rows"],
        )
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_for:
            return
        time.sleep(0.5)


def write_report(url: str, period: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        client.get_bytes(url, "/v1/goals/report", {"period": period, "format": "html"})
    )
    return path
