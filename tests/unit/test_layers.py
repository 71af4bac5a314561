"""The house's floors: which package of `services` may import which.

Imports only run down: the pure core at the bottom, the store and the door's inside
(ingest) above it, the read model and the sources beside them, and the HTTP app (api)
and the worker (processor) on top; both read figures through the read model, and the
report only renders. Every import in the code is read with `ast` (also those inside
functions and under TYPE_CHECKING), so a new arrow up the house fails here by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"

# Package → the other top-level packages (or modules) of `services` it may import.
BELOW_API = {
    "core",
    "store",
    "ingest",
    "sources",
    "observability",
    "readmodel",
    "report",
    "status",
    "settings",
    "config",
    "client",
}
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "settings": {"core"},
    "ingest": {"core", "store", "observability", "settings"},
    "readmodel": {"core", "store"},
    # Rendering reads no store: it imports only the read model's types.
    "report": {"core", "readmodel"},
    # `commands` for the CLI's shared helpers (sending with a progress bar).
    "sources": {"core", "ingest", "store", "client", "settings", "config", "commands"},
    "api": BELOW_API,
    "processor": BELOW_API - {"sources", "report"},
    # Metrics, rules and dashboards: definitions the processes above export and push.
    "observability": {"core", "client"},
    "status": {"core"},
    "simulate": {"core"},
    # The supervisor starts the API and workers as processes: it imports neither.
    "stack": {"core", "store", "ingest", "observability", "settings"},
}


def imported_packages(path: Path) -> set[str]:
    """The top-level packages of `services` that one file imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "services":  # `from services import client`
                modules = [f"services.{alias.name}" for alias in node.names]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[0] == "services" and len(parts) > 1:
                names.add(parts[1])
    return names


def arrows_against_the_rules() -> list[str]:
    wrong = []
    for path in sorted(SERVICES.rglob("*.py")):
        package = path.relative_to(SERVICES).parts[0].removesuffix(".py")
        if package not in ALLOWED:
            continue
        for target in sorted(imported_packages(path) - {package} - ALLOWED[package]):
            wrong.append(f"{path.relative_to(SERVICES.parent)} imports services.{target}")
    return wrong


def test_imports_only_run_down_the_house() -> None:
    assert arrows_against_the_rules() == []


def test_the_reader_sees_every_form_of_import(tmp_path: Path) -> None:
    # A hand-written file with each form the rule must catch, and one it must not.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import services.api.main\n"
        "from services.store import db\n"
        "from services import client\n"
        "from . import sibling\n"
        "def later() -> None:\n"
        "    from services.processor.app import make_app\n",
        encoding="utf-8",
    )
    assert imported_packages(sample) == {"api", "store", "client", "processor"}


def test_every_ruled_package_exists() -> None:
    # A rule for a package that was renamed away would pass silently.
    for package in {*ALLOWED, *BELOW_API}:
        assert (SERVICES / package).is_dir() or (SERVICES / f"{package}.py").is_file(), package
