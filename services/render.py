"""Rich tables for the CLI."""

from __future__ import annotations

from typing import Any

from rich.table import Table

_GROUP_KEYS = ("bucket_start", "queue", "municipality")


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f} %"


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def calls_table(body: dict[str, Any]) -> Table:
    period = body["period"]
    rows = body["rows"]
    keys = [k for k in _GROUP_KEYS if any(k in r for r in rows)]
    thresholds = list(rows[0]["service_level"]) if rows else []
    table = Table(title=f"Calls, {period['label']} ({period['from']} to {period['to']})")
    for k in keys:
        table.add_column(k.replace("_", " "))
    for name in ("offered", "answered", "abandoned", "short ab.", "exited"):
        table.add_column(name, justify="right")
    for t in thresholds:
        table.add_column(f"≤{t} s", justify="right")
    for name in ("abandon rate", "ASA", "avg wait"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(
            *[str(r.get(k, "")) for k in keys],
            *[str(r[k]) for k in ("offered", "answered", "abandoned", "short_abandoned", "exited")],
            *[_pct(r["service_level"][t]) for t in thresholds],
            _pct(r["abandon_rate"]),
            _secs(r["asa_seconds"]),
            _secs(r["avg_wait_seconds"]),
        )
    return table
