"""`python -m bench`: run the benchmarks and print their figures in one table (and as JSON)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import ingest, processor
from bench.common import Figure

BENCHMARKS: dict[str, Callable[[argparse.Namespace, Path], list[Figure]]] = {
    processor.NAME: processor.run,
    ingest.NAME: ingest.run,
}
PACKAGES = ("faust-streaming", "aiokafka", "kafka-python", "SQLAlchemy")
RESULTS = Path(__file__).parent / "results" / "latest.json"


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if "model name" in ln), "?"
    )
    meminfo = Path("/proc/meminfo").read_text().split()
    ram_gib = int(meminfo[meminfo.index("MemTotal:") + 1]) / 2**20
    info = {
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": f"{ram_gib:.1f} GiB",
        "Python": platform.python_version(),
        "load average (1 min) at start": f"{os.getloadavg()[0]:.2f}",
    }
    return info | {pkg: version(pkg) for pkg in PACKAGES}


def fmt(value: float | int | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=50_000, help="events per benchmark")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run just this benchmark")
    args = parser.parse_args()

    console = Console()
    if not console.is_terminal:
        console.width = 120  # piped or redirected: do not wrap at 80 columns
    info = machine()
    figures = [Figure("machine", k, v) for k, v in info.items()]
    for name, run in BENCHMARKS.items():
        if args.only in (None, name):
            with (
                console.status(f"running {name} ({args.events:,} events, {args.db}) …"),
                tempfile.TemporaryDirectory(prefix=f"opstrack-bench-{name}-") as tmp,
            ):
                figures += run(args, Path(tmp))

    table = Table(title=f"opstrack benchmarks: {args.events:,} events, {args.db}")
    for column in ("benchmark", "figure", "value", "unit"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for i, f in enumerate(figures):
        if i and f.benchmark != figures[i - 1].benchmark:
            table.add_section()
        table.add_row(f.benchmark, f.figure, fmt(f.value), f.unit)
    console.print(table)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "options": vars(args),
        "machine": info,
        "figures": [asdict(f) for f in figures],
    }
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
