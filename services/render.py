"""Rich tables for the CLI."""

from __future__ import annotations

from typing import Any

from rich.table import Table

_GROUP_KEYS = ("bucket_start", "queue", "municipality")


def _pct(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v * 100:.{digits}f} %"


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
    for name in ("abandon rate", "ASA", "avg wait", "AHT"):
        table.add_column(name, justify="right")
    for r in rows:
        table.add_row(
            *[str(r.get(k, "")) for k in keys],
            *[str(r[k]) for k in ("offered", "answered", "abandoned", "short_abandoned", "exited")],
            *[_pct(r["service_level"][t]) for t in thresholds],
            _pct(r["abandon_rate"]),
            _secs(r["asa_seconds"]),
            _secs(r["avg_wait_seconds"]),
            _secs(r["aht_seconds"]),
        )
    return table


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "-"
    return str(v)


def rows_table(title: str, body: dict[str, Any], percent: tuple[str, ...] = ()) -> Table:
    """Any SLI response as a table; nested figures ({"mean", "median", "p90"}) get a column each."""
    period = body["period"]
    table = Table(title=f"{title}, {period['label']} ({period['from']} to {period['to']})")
    rows = body["rows"]
    columns: list[tuple[str, str | None]] = []
    for key, value in (rows[0] if rows else {}).items():
        if isinstance(value, dict):
            columns += [(key, sub) for sub in value]
        else:
            columns.append((key, None))
    for key, sub in columns:
        name = key.replace("_", " ") + (f" {sub}" if sub else "")
        numeric = key not in (*_GROUP_KEYS, "service", "category", "severity", "priority")
        table.add_column(name, justify="right" if numeric else "left")
    for r in rows:
        cells = []
        for key, sub in columns:
            v = r[key][sub] if sub else r[key]
            # Availability lives in the last decimals: 99.95 % is not 100 %.
            cells.append(_pct(v, 3) if key in percent else _cell(v))
        table.add_row(*cells)
    return table
