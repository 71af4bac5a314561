"""How the every-panel test reads dashboards and expands Grafana's variables
(tests/e2e/grafana_panels.py), on a hand-written dashboard."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.grafana_panels import View, expand, prometheus_targets, variables

PROM = {"type": "prometheus", "uid": "opstrack-prometheus"}
BOARD = {
    "panels": [
        {"type": "text", "title": "About", "options": {"content": "$queue"}},
        {"type": "stat", "title": "Calls", "datasource": PROM, "targets": [{"expr": "a"}]},
        {
            "type": "row",
            "title": "Collapsed",
            "panels": [
                {
                    "type": "timeseries",
                    "title": "Inside",
                    "targets": [{"datasource": PROM, "expr": "b"}],
                }
            ],
        },
        {
            "type": "timeseries",
            "title": "History",
            "datasource": {"type": "grafana-postgresql-datasource", "uid": "opstrack-postgres"},
            "targets": [{"rawSql": "SELECT 1", "expr": "not promql"}],
        },
        {
            "type": "stat",
            "title": "Hidden",
            "targets": [{"datasource": PROM, "expr": "c", "hide": True}],
        },
    ],
    "templating": {
        "list": [
            {"name": "queue", "type": "query", "includeAll": True, "allValue": ".*"},
            {"name": "municipality", "type": "query", "includeAll": True, "multi": True},
            {"name": "period", "type": "custom", "current": {"value": "month"}},
            {"name": "opstrack_url", "type": "textbox", "current": {"value": ["http://x"]}},
        ]
    },
}


def test_only_prometheus_targets_of_every_panel_even_in_rows(tmp_path: Path) -> None:
    (tmp_path / "board.json").write_text(json.dumps(BOARD))
    found = [(t.dashboard, t.panel, t.panel_type, t.expr) for t in prometheus_targets(tmp_path)]
    assert found == [("board", "Calls", "stat", "a"), ("board", "Inside", "timeseries", "b")]


def test_all_is_the_all_value_else_the_current_value() -> None:
    assert variables(BOARD) == {
        "queue": ".*",
        "municipality": ".*",
        "period": "month",
        "opstrack_url": "http://x",
    }


def test_grafana_variables_in_every_spelling() -> None:
    view = View(start=1_000_000.0, end=1_000_300.0, rate_interval_seconds=60)
    values = {"queue": ".*", "period": "month"}
    expr = (
        'x{queue=~"$queue", period="${period}", p="[[period]]"}[$__range] '
        "y[$__rate_interval] z[${__interval}] $__range_s ${__from:date:seconds} ${__to} $unknown"
    )
    assert expand(expr, values, view) == (
        'x{queue=~".*", period="month", p="month"}[300s] '
        "y[60s] z[60s] 300 1000000 1000300000 $unknown"
    )
