"""opstrack's Grafana dashboards as code, and the generator of deploy/grafana/dashboards/.

`render_all()` gives each dashboard's file name and JSON text; `write_all()` writes them,
or with check=True only says which differ, so the committed files cannot drift from the
code: `opstrack grafana dashboards [--check]`, or `python -m services.observability.dashboards
[--check]`. The dashboards themselves are in dashboard_calls.py, dashboard_tickets.py,
dashboard_ops.py and dashboard_pipeline.py.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from services.observability.dashboard_calls import servicedesk
from services.observability.dashboard_ops import change_freeze, goals, incidents
from services.observability.dashboard_pipeline import pipeline
from services.observability.dashboard_tickets import tickets

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
# Where the text panels' links point unless told otherwise (`opstrack up`'s default).
DEFAULT_OPSTRACK_URL = "http://127.0.0.1:8000"

BUILDERS: dict[str, Callable[[str], db.Dashboard]] = {
    "servicedesk.json": lambda _url: servicedesk(),
    "tickets.json": tickets,
    "incidents.json": incidents,
    "change-freeze.json": change_freeze,
    "goals.json": goals,
    "pipeline.json": pipeline,
}


def build_all(opstrack_url: str = DEFAULT_OPSTRACK_URL) -> dict[str, dict[str, Any]]:
    """File name → the dashboard's JSON model, as Grafana's HTTP API and files take it."""
    return {name: _model(build(opstrack_url)) for name, build in BUILDERS.items()}


def _model(dashboard: db.Dashboard) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(json.dumps(dashboard.build(), cls=JSONEncoder))
    # The builders leave panel ids unset (0); Grafana wants them unique within a
    # dashboard, for panel links and per-panel annotations, and stable across renders.
    # A collapsed row holds its panels inside it; they are numbered too.
    nested = (p for top in model.get("panels", []) for p in [top, *top.get("panels", [])])
    for n, panel in enumerate(nested, start=1):
        panel["id"] = n
    return model


def render(model: dict[str, Any]) -> str:
    # Sorted keys and a final newline: the same model always gives the same bytes,
    # whatever order the SDK emits fields in, so the drift check compares like with like.
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_all() -> dict[str, str]:
    """File name → JSON text, in a stable order: what deploy/grafana/dashboards/ holds."""
    return {name: render(model) for name, model in sorted(build_all().items())}


def write_all(directory: Path = DASHBOARDS_DIR, *, check: bool = False) -> list[str]:
    """Write the dashboards (or with check=True only compare); returns the names that differ.

    A .json file in the directory that no dashboard renders any more is stale too, and is
    removed when writing: the directory holds generated files only.
    """
    wanted = render_all()
    stale = [n for n, t in wanted.items() if _read(directory / n) != t]
    extra = sorted(p.name for p in directory.glob("*.json") if p.name not in wanted)
    if not check:
        directory.mkdir(parents=True, exist_ok=True)
        for name in stale:
            (directory / name).write_text(wanted[name], encoding="utf-8")
        for name in extra:
            (directory / name).unlink()
    return sorted(stale + extra)


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def main(argv: list[str]) -> int:
    check = "--check" in argv
    changed = write_all(check=check)
    if check and changed:
        print(f"dashboards out of date: {', '.join(changed)} (run `opstrack grafana dashboards`)")
        return 1
    print(f"{len(BUILDERS)} dashboards {'checked' if check else 'written'}; {len(changed)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
