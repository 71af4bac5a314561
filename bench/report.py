"""The MER goal report over a year of simulated data: GET /v1/goals/report, HTML and XLSX.

The seed department's simulated year (services/simulate, as `opstrack simulate`
sends it) goes into `opstrack up`; once the inbox holds every event, the
report for the period 2022 is fetched several times in each format, as
`opstrack report` does, and the median time is reported.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import orjson

from bench.common import AUTH, Figure, fresh_db, start_up, stop_up, wait_applied
from bench.ingest import send_all
from services.simulate import SCENARIOS

SCENARIO = "syd-it-2022"
BATCH = 500
RUNS = 5


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    first = date(2022, 1, 1)
    last = first + timedelta(days=args.events - 1)
    events = list(SCENARIOS[SCENARIO](first, last, 2022))
    distinct = len({e["id"] for e in events})
    bodies = [orjson.dumps(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]
    timings: dict[str, list[float]] = {"html": [], "xlsx": []}
    sizes: dict[str, int] = {}
    with fresh_db(args.db, tmp, "report") as url:
        up = start_up(url, tmp)
        try:
            send_all(up.api, bodies, 2)
            wait_applied(url, distinct, up.proc, 600, up.log)
            with httpx.Client(base_url=up.api, timeout=60, headers=AUTH) as client:
                for _ in range(RUNS):
                    for fmt, seen in timings.items():
                        t0 = time.perf_counter()
                        r = client.get("/v1/goals/report", params={"period": "2022", "format": fmt})
                        seen.append(time.perf_counter() - t0)
                        r.raise_for_status()
                        sizes[fmt] = len(r.content)
        finally:
            stop_up(up.proc)
    label = f"MER report ({args.db})"
    figures = [
        Figure(label, "simulated days", args.events, "days"),
        Figure(label, "simulated events", len(events), "events"),
    ]
    for fmt, seen in timings.items():
        figures.append(
            Figure(label, f"GET report {fmt}, median of {RUNS}", statistics.median(seen), "s")
        )
        figures.append(Figure(label, f"report {fmt} size", sizes[fmt], "bytes"))
    return figures
