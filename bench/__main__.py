"""`python -m bench`: run the benchmarks and print their figures in one table (and as JSON)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.common import Figure

Runner = Callable[[argparse.Namespace, Path], list[Figure]]

# name: ("module:function", full size, --quick size); a size is events, except for
# `up` (runs), `report` (days of the simulated year), `national` (municipalities) and
# `outbox` (events a day, over two years).
BENCHMARKS: dict[str, tuple[str, int, int]] = {
    "processor": ("bench.processor:run", 200_000, 20_000),
    "rebuild": ("bench.rebuild:run", 1_000_000, 50_000),
    "ingest": ("bench.ingest:run", 100_000, 20_000),
    "freshness": ("bench.freshness:run", 30_000, 10_000),
    "up": ("bench.stack:run_up", 5, 2),
    "memory": ("bench.stack:run_memory", 1_000_000, 100_000),
    "report": ("bench.report:run", 365, 90),
    # municipalities (x 3 queues x 2 years of hourly buckets), always on PostgreSQL
    "national": ("bench.national:run", 290, 29),
    # call events per worker count (x 3 in the kill run), on a three-node Kafka cluster,
    # always on PostgreSQL
    "scale": ("bench.scale:run", 200_000, 50_000),
    # two years of call events in the outbox, always on PostgreSQL (bench/outbox.py)
    "outbox": ("bench.outbox:run", 1_500, 200),
}
PACKAGES = ("faust-streaming", "aiokafka", "kafka-python", "SQLAlchemy", "uvicorn")
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


def table(figures: list[Figure], title: str) -> Table:
    out = Table(title=title)
    for column in ("benchmark", "figure", "value", "unit"):
        out.add_column(column, justify="right" if column == "value" else "left")
    for i, f in enumerate(figures):
        if i and f.benchmark != figures[i - 1].benchmark:
            out.add_section()
        out.add_row(f.benchmark, f.figure, fmt(f.value), f.unit)
    return out


def markdown(report: dict[str, Any]) -> str:
    """The table as Markdown, for the README: what ran, where, with which command."""
    lines = [
        f"`{report['command']}` on {report['at']}",
        "",
        "| benchmark | figure | value | unit |",
        "| --- | --- | ---: | --- |",
    ]
    for f in report["figures"]:
        lines.append(f"| {f['benchmark']} | {f['figure']} | {fmt(f['value'])} | {f['unit']} |")
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        help="run just this benchmark (may be repeated)",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument("--events", type=int, help="override every benchmark's size")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help=f"print the last results ({RESULTS.name}) as Markdown and run nothing",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())), end="")
        return

    console = Console()
    if not console.is_terminal:
        console.width = 120  # piped or redirected: do not wrap at 80 columns
    info = machine()
    figures = [Figure("machine", k, v) for k, v in info.items()]
    for name, (target, full, quick) in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        size = args.events or (quick if args.quick else full)
        module, _, function = target.partition(":")
        run: Runner = getattr(importlib.import_module(module), function)
        options = argparse.Namespace(**{**vars(args), "events": size})
        with (
            console.status(f"running {name} (size {size:,}, {args.db}) …"),
            tempfile.TemporaryDirectory(prefix=f"opstrack-bench-{name}-") as tmp,
        ):
            try:
                figures += run(options, Path(tmp))
            except Exception as exc:  # one failed benchmark still leaves the others' figures
                console.print_exception()
                figures.append(Figure(name, "failed", f"{type(exc).__name__}: {exc}"[:80]))

    sizes = "quick sizes" if args.quick else "full sizes"
    console.print(table(figures, f"opstrack benchmarks ({sizes}, {args.db})"))
    argv = ["python -m bench"] + (["--quick"] if args.quick else [])
    argv += [f"--only {n}" for n in args.only or []]
    argv += [f"--db {args.db}"] if args.db != "sqlite" else []
    report = {
        "at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "command": " ".join(argv + ([f"--events {args.events}"] if args.events else [])),
        "options": vars(args),
        "machine": info,
        "figures": [asdict(f) for f in figures],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    RESULTS.with_suffix(".md").write_text(markdown(report))
    console.print(f"written to {RESULTS} and {RESULTS.with_suffix('.md').name}")


if __name__ == "__main__":
    main()
