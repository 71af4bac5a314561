"""Reads at national size: 290 municipalities x 3 queues x 2 years of hourly call buckets.

PostgreSQL is seeded directly (COPY) with one hourly bucket per queue and hour
of 2022 and 2023 (the size is the number of municipalities), the daily and
monthly rollups are summed from them by the store's own code (what `migrate`
does for a store made before the rollups), and then, in-process through the
API's ASGI app with the report cache off, each read is repeated:

  GET /v1/sli/calls?period=2023&group_by=municipality
  GET /v1/sli/calls?period=2023&municipality=<one>
  GET /v1/goals/report?period=2023&format=json

and its p50 and p99 are reported. Targets (issue 13): the SLI p99 < 200 ms and
the report p99 < 1 s.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from bench.common import Figure, fresh_db
from services.api.main import create_app
from services.core.periods import STOCKHOLM
from services.settings import Settings
from services.store import calls
from services.store.db import make_engine

QUEUES = ("vard", "skola", "socialtjanst")
FIRST, END = datetime(2022, 1, 1, tzinfo=STOCKHOLM), datetime(2024, 1, 1, tzinfo=STOCKHOLM)
RUNS = 50
TOKEN = "opstrack-bench-national"  # noqa: S105 - a throwaway in-process API's


def lines(municipalities: int, seed: int, within: bool) -> Iterator[str]:
    """COPY text, one municipality at a time: of the hourly buckets, or of their
    answered-within rows (the same random figures: one generator per municipality)."""
    first, end = int(FIRST.timestamp()), int(END.timestamp())
    day_hours = {
        h: 7 <= datetime.fromtimestamp(h, STOCKHOLM).hour < 18 for h in range(first, end, 3600)
    }
    for m in range(municipalities):
        rnd = random.Random(seed * 1000 + m)
        muni = f"kommun-{m:03}"
        out = []
        for q in QUEUES:
            queue = f"{muni}-{q}"
            for hour, busy in day_hours.items():
                # Busy by day, a trickle at night; every hour has a bucket.
                offered = rnd.randint(5, 40) if busy else rnd.randint(1, 3)
                answered = offered - rnd.randint(0, offered // 4)
                abandoned = offered - answered
                short = rnd.randint(0, abandoned)
                w20 = rnd.randint(answered // 2, answered)
                w60 = rnd.randint(w20, answered)
                wait_a = answered * rnd.randint(5_000, 60_000)
                talk = answered * rnd.randint(60_000, 600_000)  # every answered call talked
                a20 = rnd.randint(0, abandoned)  # abandoned within 20 s, within 60 s
                a60 = rnd.randint(a20, abandoned)
                if within:
                    out.append(f"{hour}\t{queue}\t{muni}\t20\t{w20}\t{a20}\n")
                    out.append(f"{hour}\t{queue}\t{muni}\t60\t{w60}\t{a60}\n")
                else:
                    out.append(
                        f"{hour}\t{queue}\t{muni}\t{offered}\t{answered}\t{abandoned}\t{short}"
                        f"\t0\t{wait_a}\t{wait_a + abandoned * 30_000}\t{answered}\t{talk}\n"
                    )
        yield "".join(out)


def seed(url: str, municipalities: int) -> tuple[int, float, float]:
    """Load the buckets with COPY; returns (buckets, seconds to load, seconds to roll up)."""
    t0 = time.perf_counter()
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    columns = (
        "hour, queue, municipality, offered, answered, abandoned, short_abandoned, exited,"
        " wait_answered_ms, wait_offered_ms, talked, talk_ms"
    )
    copies = {
        False: f"COPY call_buckets ({columns}) FROM STDIN",
        True: "COPY call_buckets_within"
        " (hour, queue, municipality, threshold_s, answered, abandoned) FROM STDIN",
    }
    with psycopg.connect(dsn) as pg, pg.cursor() as cur:
        for within, statement in copies.items():
            with cur.copy(statement) as copy:
                for chunk in lines(municipalities, 13, within):
                    copy.write(chunk)
        cur.execute("ANALYZE call_buckets")
        cur.execute("ANALYZE call_buckets_within")
        cur.execute("SELECT count(*) FROM call_buckets")
        row = cur.fetchone()
        n = int(row[0]) if row else 0
    loaded = time.perf_counter() - t0
    engine = make_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        calls.rebuild_all_rollups(conn)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE call_rollups")
        conn.exec_driver_sql("ANALYZE call_rollups_within")
        conn.exec_driver_sql("ANALYZE call_queue_hours")
    engine.dispose()
    return n, loaded, time.perf_counter() - t0


def timed(client: TestClient, path: str, params: dict[str, str]) -> list[float]:
    seen = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        r = client.get(path, params=params)
        seen.append(time.perf_counter() - t0)
        r.raise_for_status()
    return seen


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    municipalities = args.events
    label = f"national reads ({municipalities} municipalities x 3 queues, 2 years, PostgreSQL)"
    with fresh_db("postgresql", tmp, "national") as url:
        n, loaded, rolled = seed(url, municipalities)
        settings = Settings(
            database_url=url, dev_token=TOKEN, report_cache_size=0, business_calendar=False
        )
        figures = [
            Figure(label, "hourly buckets (COPY)", n, "rows"),
            Figure(label, "seconds to COPY them", loaded, "s"),
            Figure(label, "seconds to sum the rollups and queue hours", rolled, "s"),
        ]
        reads = {
            "SLI calls, a year by municipality": (
                "/v1/sli/calls",
                {"period": "2023", "group_by": "municipality"},
            ),
            "SLI calls, a year, one municipality": (
                "/v1/sli/calls",
                {"period": "2023", "municipality": "kommun-007"},
            ),
            "goal report, a year (json)": (
                "/v1/goals/report",
                {"period": "2023", "format": "json"},
            ),
        }
        with TestClient(create_app(settings)) as client:
            for name, (path, params) in reads.items():
                client.get(path, params=params).raise_for_status()  # warm
                seen = timed(client, path, params)
                figures.append(
                    Figure(label, f"{name}: p50 of {RUNS}", statistics.median(seen) * 1000, "ms")
                )
                figures.append(Figure(label, f"{name}: p99 of {RUNS}", p99(seen) * 1000, "ms"))
    return figures
