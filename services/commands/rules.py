"""`opstrack rules`: write Prometheus rule files and docs/runbook.md from config/slos.yaml
(or check them for drift).

Register it in services/cli.py with:

    from services.commands.rules import rules

    app.command("rules")(rules)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:  # imported when the command runs, not by every `opstrack` process
    from services.core.slo import Spec

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "deploy" / "prometheus" / "rules"
RUNBOOK = REPO / "docs" / "runbook.md"

console = Console(soft_wrap=True)


def rules(
    out: Annotated[
        Path, typer.Option("--out", help="Where the rule files go (one per group).")
    ] = RULES_DIR,
    runbook_path: Annotated[
        Path,
        typer.Option("--runbook", help="Where the runbook of the alerts goes (Markdown)."),
    ] = RUNBOOK,
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the files differ from what would be written.")
    ] = False,
    config_dir: Annotated[
        Path | None,
        typer.Option(
            "--config-dir",
            help="Where slos.yaml and services.yaml are (default: OPSTRACK_CONFIG_DIR, i.e. config/).",
        ),
    ] = None,
) -> list[str]:
    """Prometheus rules and alerts for the service levels and ITSM, and their runbook."""
    from services.client import ClientError
    from services.observability.rule_yaml import HEADER
    from services.observability.rules import note, rule_files, runbook

    if config_dir is None:
        from services.settings import get_settings

        config_dir = get_settings().config_dir
    spec = load_spec_file(config_dir)
    files = rule_files(spec)
    # Generated files no longer generated (a group renamed, say) are drift too.
    ours = {p.name for p in out.glob("*.yml") if p.read_text().startswith(HEADER)}
    stale = sorted(n for n in files if _read(out / n) != files[n]) + sorted(ours - set(files))
    doc = runbook(spec)
    doc_stale = _read(runbook_path) != doc
    changed = [*stale, *([runbook_path.name] if doc_stale else [])]
    if check:
        if changed:
            raise ClientError(
                f"rule files out of date: {', '.join(changed)} (run `opstrack rules`)"
            )
    else:
        out.mkdir(parents=True, exist_ok=True)
        for name in stale:
            if name in files:
                (out / name).write_text(files[name])
            else:
                (out / name).unlink()
        if doc_stale:
            runbook_path.parent.mkdir(parents=True, exist_ok=True)
            runbook_path.write_text(doc)
    for text in filter(None, map(note, spec.objectives)):
        console.print(f"note: {text}", highlight=False)
    verb = "checked" if check else "written"
    console.print(
        f"{len(files)} rule files and the runbook {verb} in {out} and {runbook_path};"
        f" {len(changed)} changed",
        highlight=False,
    )
    return changed


def load_spec_file(config_dir: Path) -> Spec:
    """slos.yaml checked against the worker's counters and the service catalog."""
    import yaml

    from services import config
    from services.core.slo import load_spec
    from services.observability.rules import known_counters

    path = config_dir / "slos.yaml"
    catalog = config.catalog(config_dir)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return load_spec(data, known_counters(), frozenset(catalog.services))
    except FileNotFoundError:
        raise config.ConfigError(f"{path}: no such file") from None
    except (yaml.YAMLError, ValueError) as exc:
        # One line, as every configuration error: YAML's own message spans several.
        raise config.ConfigError(f"{path}: {' '.join(str(exc).split())}") from None


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None
