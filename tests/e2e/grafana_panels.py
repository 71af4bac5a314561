"""The PromQL of the committed Grafana dashboards, as Grafana would send it to Prometheus.

Read from the JSON files in deploy/grafana/dashboards/ (what users import), not from
the code that generates them: the test checks what ships.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROMETHEUS_UID = "opstrack-prometheus"
# Panels Grafana draws over the dashboard's time range; the others show one value per
# series (stat, gauge, bar gauge, table), what an instant query answers.
RANGE_PANELS = frozenset({"timeseries", "state-timeline", "status-history", "barchart", "heatmap"})


@dataclass(frozen=True, slots=True)
class Target:
    dashboard: str  # the file's stem
    panel: str  # the panel's title
    panel_type: str
    expr: str  # with Grafana's variables still in it
    variables: Mapping[str, str]  # the dashboard's variables, as the test sets them

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} / {self.expr}"


def prometheus_targets(directory: Path) -> list[Target]:
    """Every query of every panel that reads the opstrack Prometheus data source."""
    out: list[Target] = []
    for path in sorted(directory.glob("*.json")):
        board = json.loads(path.read_text(encoding="utf-8"))
        values = variables(board)
        for panel in _panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if _uid(target.get("datasource") or panel.get("datasource")) != PROMETHEUS_UID:
                    continue  # another data source (the PostgreSQL history panels), or none
                if target.get("hide") or not target.get("expr"):
                    continue
                title, kind = panel.get("title", ""), panel["type"]
                out.append(Target(path.stem, title, kind, target["expr"], values))
    return out


def variables(board: Mapping[str, Any]) -> dict[str, str]:
    """A dashboard's variables as the test queries with them: All (the variable's
    allValue, else .*) when it offers All, else its current value."""
    values: dict[str, str] = {}
    for var in board.get("templating", {}).get("list", []):
        if var.get("includeAll"):
            values[var["name"]] = var.get("allValue") or ".*"
            continue
        current = (var.get("current") or {}).get("value")
        if isinstance(current, list) and len(current) == 1:
            current = current[0]
        if isinstance(current, str):
            values[var["name"]] = current
    return values


@dataclass(frozen=True, slots=True)
class View:
    """The dashboard's time range and Prometheus' scrape interval, for Grafana's own variables."""

    start: float  # epoch seconds
    end: float
    rate_interval_seconds: int

    def builtins(self) -> dict[str, str]:
        span = max(1, round(self.end - self.start))
        return {
            "__range": f"{span}s",
            "__range_s": str(span),
            "__range_ms": str(span * 1000),
            "__rate_interval": f"{self.rate_interval_seconds}s",
            "__rate_interval_ms": str(self.rate_interval_seconds * 1000),
            "__interval": f"{self.rate_interval_seconds}s",
            "__interval_ms": str(self.rate_interval_seconds * 1000),
        }


_VARIABLE = re.compile(
    r"\$\{(?P<braced>\w+)(?::(?P<format>[^}]*))?\}|\[\[(?P<old>\w+)\]\]|\$(?P<bare>\w+)"
)


def expand(expr: str, values: Mapping[str, str], view: View) -> str:
    """`expr` as Grafana sends it: $name, ${name}, [[name]] from `values` and Grafana's
    own variables; ${__from}/${__to} in milliseconds, or seconds with :date:seconds.
    A variable that is not known stays as it is, so its query fails and says so."""
    known = {**values, **view.builtins()}

    def one(m: re.Match[str]) -> str:
        name = m.group("braced") or m.group("old") or m.group("bare")
        if name in ("__from", "__to"):
            instant = view.start if name == "__from" else view.end
            seconds = m.group("format") == "date:seconds"
            return str(int(instant)) if seconds else str(int(instant * 1000))
        return known.get(name, m.group(0))

    return _VARIABLE.sub(one, expr)


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row holds its panels


def _uid(datasource: object) -> str | None:
    if isinstance(datasource, dict):
        uid = datasource.get("uid")
        return uid if isinstance(uid, str) else None
    return None
