"""Rebuild: `opstrack rebuild --yes` over N call events already in the outbox.

The events (a queued and an ending event per call, over one year, five queues)
are written straight into the outbox table with executemany, as ingest would
have left them. The rebuild then runs as the real command in a subprocess;
its wall time and peak RSS are measured from the outside, and the buckets it
leaves must hold every call.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.common import Figure, fresh_db, peak_rss_mib, tail
from services.store.calls import sum_buckets
from services.store.db import make_engine
from services.store.outbox import OUTBOX
from tests.reference import call_event, utc

NAME = "rebuild"
CHUNK = 20_000
START = utc(2022, 1, 1)
QUEUES = [("askersund", "Askersund"), ("hallsberg", "Hallsberg"), ("laxa", "Laxå")]


def outbox_rows(calls: int, seed: int) -> Iterator[list[dict[str, Any]]]:
    """Outbox rows of `calls` calls over one year, CHUNK rows at a time.

    In the order calls enter their queues, as ingest receives them in real life,
    so the outbox's row order follows event time as it does in production.
    """
    rnd = random.Random(seed)
    rows: list[dict[str, Any]] = []
    gap = 365 * 86400 / calls
    entered = START
    for i in range(calls):
        queue, muni = rnd.choice(QUEUES)
        entered += timedelta(seconds=rnd.expovariate(1 / gap))
        wait = round(rnd.uniform(0, 90), 3)
        kind = rnd.choice(["call.answered", "call.answered", "call.abandoned", "call.exited"])
        for e in (
            call_event(i, "call.queued", entered, queue, muni, None),
            call_event(i, kind, entered + timedelta(seconds=wait), queue, muni, wait),
        ):
            rows.append(_row(e))
        if len(rows) >= CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def _row(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": e["id"],
        "type": e["type"],
        "topic": e["type"].split(".", 1)[0] + "s",
        "key": e["data"]["call_id"],
        "event_time_ms": int(datetime.fromisoformat(e["time"]).timestamp() * 1000),
        "received_at_us": 0,
        "published": True,
        "payload": orjson.dumps(e).decode(),
    }


def fill(url: str, calls: int) -> float:
    """Write the events into the outbox; returns the seconds it took."""
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        for rows in outbox_rows(calls, seed=11):
            with engine.begin() as conn:
                conn.execute(OUTBOX.insert(), rows)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def rebuild(url: str, log: Path) -> tuple[float, float, float]:
    """Run `opstrack rebuild --yes`; returns seconds, CPU seconds and peak RSS (MiB) of it.

    CPU seconds beside wall time: on a machine shared with other work the wall
    time says more about the neighbours than about the rebuild.
    """
    argv = [sys.executable, "-m", "services.cli", "rebuild", "--yes", "--database-url", url]
    started = time.perf_counter()
    rss = 0.0
    with log.open("wb") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT)
        # VmHWM, sampled while it runs: the child's ru_maxrss would count this
        # process's memory (the million generated events) from before its exec.
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            with contextlib.suppress(OSError, RuntimeError):
                rss = max(rss, peak_rss_mib(proc.pid))
            time.sleep(0.1)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"rebuild exited with {proc.returncode}:\n{tail(log)}")
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, rss


def offered(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            total = sum_buckets(conn, 0, 2**62).get((), None)
    finally:
        engine.dispose()
    return 0 if total is None else total.offered


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    calls = args.events // 2  # its size in bench/__main__.py: 1,000,000 events
    with fresh_db(args.db, tmp, NAME) as url:
        filled = fill(url, calls)
        print(f"  outbox: {2 * calls:,} events written in {filled:.1f} s", file=sys.stderr)
        seconds, cpu, rss = rebuild(url, tmp / "rebuild.log")
        counted = offered(url)
    if counted != calls:
        raise RuntimeError(f"the rebuilt buckets hold {counted:,} calls, not {calls:,}")
    return [
        Figure(NAME, "events", 2 * calls),
        Figure(NAME, "rebuild", seconds, "s"),
        Figure(NAME, "throughput", 2 * calls / seconds, "events/s"),
        Figure(NAME, "CPU time", cpu, "s"),
        Figure(NAME, "peak RSS", rss, "MiB"),
        Figure(NAME, "target", "1 M events < 60 s"),
    ]
