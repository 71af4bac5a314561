"""The embedded stack as a whole: `opstrack up` time to ready, and memory after N events.

up: the median time from starting `opstrack up` (fresh SQLite database, embedded
broker) to the first 200 from /readyz, over several runs.
memory: N call events posted in batches of 500 by two senders, then waiting
until the inbox holds them all; the peak RSS (VmHWM) of each process of the
stack (the `up` supervisor, the Tansu broker, the API with its relay, the faust
worker) and their sum. Tansu keeps every record in memory and cannot trim
(0.6: retention.ms is ignored, DeleteRecords panics), so the broker grows with
the events; the relay's gzip batches are what keep that growth small.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from pathlib import Path

import orjson

from bench.common import (
    Figure,
    call_events,
    fresh_db,
    peak_rss_mib,
    start_up,
    stop_up,
    wait_applied,
)
from bench.ingest import send_all

CHUNK = 50_000  # events generated at a time, so the benchmark's own memory stays small
BATCH = 500


def run_up(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    ready = []
    for n in range(args.events):
        run_dir = tmp / f"run{n}"
        run_dir.mkdir()
        with fresh_db("sqlite", run_dir, "up") as url:
            up = start_up(url, run_dir)
            stop_up(up.proc)
        ready.append(up.ready_s)
    label = "opstrack up (sqlite)"
    return [
        Figure(label, "runs", len(ready), "runs"),
        Figure(label, "start → /readyz 200, median", statistics.median(ready), "s"),
        Figure(label, "start → /readyz 200, min", min(ready), "s"),
        Figure(label, "start → /readyz 200, max", max(ready), "s"),
    ]


def chunks(total: int) -> Iterator[list[bytes]]:
    """Batch bodies of `total` call events with distinct ids, CHUNK events at a time."""
    for c, start in enumerate(range(0, total, CHUNK)):
        events = call_events(min(CHUNK, total - start) // 2, seed=100 + c)
        for e in events:
            e["id"] = f"m{c}-{e['id']}"
        yield [orjson.dumps(events[i : i + BATCH]) for i in range(0, len(events), BATCH)]


def run_memory(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    total = args.events // 2 * 2
    with fresh_db(args.db, tmp, "memory") as url:
        up = start_up(url, tmp)
        try:
            pids = {"up supervisor": up.proc.pid} | up.children()
            for bodies in chunks(total):
                send_all(up.api, bodies, 2)
            wait_applied(url, total, up.proc, 600 + total / 200, up.log)
            peaks = {name: peak_rss_mib(pid) for name, pid in pids.items()}
        finally:
            stop_up(up.proc)
    label = f"memory after {total:,} events ({args.db})"
    figures = [Figure(label, f"peak RSS: {name}", mib, "MiB") for name, mib in peaks.items()]
    return [*figures, Figure(label, "peak RSS: whole stack", sum(peaks.values()), "MiB")]
