"""`opstrack rules`: write Prometheus rule files from config/slos.yaml (or check them for drift).

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
    from services.core.slo import Objective

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"

console = Console(soft_wrap=True)


def rules(
    out: Annotated[
        Path, typer.Option("--out", help="Where the rule files go (one per group).")
    ] = RULES_DIR,
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
    """Prometheus recording rules and burn-rate alerts for the SLOs, plus the ITSM alerts."""
    from services.client import ClientError
    from services.observability.rules import HEADER, note, rule_files

    if config_dir is None:
        from services.settings import get_settings

        config_dir = get_settings().config_dir
    objectives = load_objectives(config_dir)
    files = rule_files(objectives)
    # Generated files no longer generated (a group renamed, say) are drift too.
    ours = {p.name for p in out.glob("*.yml") if p.read_text().startswith(HEADER)}
    stale = sorted(n for n in files if _read(out / n) != files[n]) + sorted(ours - set(files))
    if check:
        if stale:
            raise ClientError(f"rule files out of date: {', '.join(stale)} (run `opstrack rules`)")
    else:
        out.mkdir(parents=True, exist_ok=True)
        for name in stale:
            if name in files:
                (out / name).write_text(files[name])
            else:
                (out / name).unlink()
    for text in filter(None, map(note, objectives)):
        console.print(f"note: {text}", highlight=False)
    verb = "checked" if check else "written"
    console.print(f"{len(files)} rule files {verb} in {out}; {len(stale)} changed", highlight=False)
    return stale


def load_objectives(config_dir: Path) -> tuple[Objective, ...]:
    """slos.yaml checked against the worker's counters and the service catalog."""
    import yaml

    from services import config
    from services.core.slo import load_slos
    from services.observability.rules import known_counters

    path = config_dir / "slos.yaml"
    catalog = config.catalog(config_dir)
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return load_slos(data, known_counters(), frozenset(catalog.services))
    except FileNotFoundError:
        raise config.ConfigError(f"{path}: no such file") from None
    except (yaml.YAMLError, ValueError) as exc:
        # One line, as every configuration error: YAML's own message spans several.
        raise config.ConfigError(f"{path}: {' '.join(str(exc).split())}") from None


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None
