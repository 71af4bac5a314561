"""The outbox with two years of events: its size, the relay's next batch, `rebuild --from`.

National size, as bench/national.py reads it: 290 municipalities x 3 queues,
~237,000 calls a day, two events each: NATIONAL_PER_DAY events a day. Two years
of that (350 M rows) cannot be written in the minutes a benchmark may take on
a small machine, so the log is seeded at the size given (events a day, over
the 730 days before today, as the API would have received them: each a minute
after its event time) and the national figures are scaled from what is
measured: bytes per event are the same at any size, and `rebuild --from`
replays a month's events, so it scales with the month.

The events go in with COPY (outbox, outbox_ids, and the inbox rows of the
workers that applied them), published and applied but for BACKLOG at the head.
The same rows are then copied into a second schema with the plain, unpartitioned
outbox of earlier versions: the baseline, measured in the same run.

Measured in each: the relay's next batch (outbox.pending, RELAY_BATCH events,
p50 and p99 of RUNS), and the rebuild from the start of the last 30 days
(services/processor/replay.py's clear and replay, in-process; the faster of two); in the monthly
one also the first months archived (services/store/archive.py) and their files'
size, and in the baseline its conversion to months (what migrate does once).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.common import Figure, fresh_db, percentile
from services.processor.replay import REPLAYED, clear, replay, start_hour
from services.settings import Settings
from services.store import archive, outbox, partitions
from services.store.db import make_engine
from services.store.outbox import OUTBOX

NATIONAL_PER_DAY = 475_000  # 237,000 calls a day x 2 events (bench/national.py's buckets)
DAYS = 730
BACKLOG = 1_000  # received last, not yet published nor applied
RELAY_BATCH = 2000  # the relay's default batch (services/ingest/relay.py)
RUNS = 200
QUEUES = ("vard", "skola", "socialtjanst")


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _lines(per_day: int, end: datetime) -> Iterator[tuple[str, str, str]]:
    """COPY lines of (outbox, outbox_ids, applied_events), a day at a time; payloads
    as the API stores them (canonical CloudEvents JSON, ~270 bytes)."""
    start = end - timedelta(days=DAYS)
    calls_a_day = per_day // 2
    step_ms = 86_400_000 / calls_a_day
    total = calls_a_day * DAYS
    n = 0
    for day in range(DAYS):
        box, ids, applied = [], [], []
        base_ms = int((start + timedelta(days=day)).timestamp() * 1000)
        for i in range(calls_a_day):
            n += 1
            m = n % 290
            queue = f"kommun-{m:03}-{QUEUES[n % 3]}"
            entered = base_ms + int(i * step_ms)
            wait = (n * 7919) % 90_000
            for kind, at in (("call.queued", entered), ("call.answered", entered + wait)):
                t = datetime.fromtimestamp(at / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                source = f"pbx/kommun-{m:03}"
                event_id = f"{kind}-{n}"
                extra = (
                    ""
                    if kind == "call.queued"
                    else f',"entered_at":null,"wait_seconds":{wait / 1000}'
                )
                payload = (
                    f'{{"specversion":"1.0","id":"{event_id}","source":"{source}","time":"{t}",'
                    f'"subject":"call-{n}","datacontenttype":"application/json","type":"{kind}",'
                    f'"data":{{"call_id":"call-{n}","queue":"{queue}",'
                    f'"municipality":"kommun-{m:03}"{extra}}}}}'
                )
                pair = f"{len(source)}:{source}{event_id}"
                key = hashlib.sha256(pair.encode()).hexdigest()
                received = at * 1000 + 60_000_000
                head = n > total - BACKLOG // 2
                published = "f" if head else "t"
                box.append(
                    f"{key}\t{kind}\topstrack.calls\tcall-{n}\t{at}\t{received}\t{published}"
                    f"\t{payload}\n"
                )
                ids.append(f"{key}\n")
                if not head:
                    applied.append(f"{key}\t{received + 1_000_000}\n")
        yield "".join(box), "".join(ids), "".join(applied)


def seed(url: str, per_day: int, end: datetime) -> tuple[int, float]:
    """COPY two years into the (monthly) outbox; returns (rows, seconds)."""
    t0 = time.perf_counter()
    engine = make_engine(url)
    with engine.begin() as conn:
        month = partitions.month_of(int((end - timedelta(days=DAYS + 1)).timestamp() * 1e6))
        while month <= partitions.month_of(int(end.timestamp() * 1e6)):
            partitions.create(conn, *month)
            month = partitions.next_month(*month)
    engine.dispose()
    cols = "id, type, topic, key, event_time_ms, received_at_us, published, payload"
    copies = (
        f"COPY outbox ({cols}) FROM STDIN",
        "COPY outbox_ids (id) FROM STDIN",
        "COPY applied_events (id, applied_at_us) FROM STDIN",
    )
    with ExitStack() as stack:
        # One connection per table: the lines are made once and go to all three.
        writers = [
            stack.enter_context(
                stack.enter_context(psycopg.connect(_dsn(url))).cursor().copy(statement)
            )
            for statement in copies
        ]
        for day in _lines(per_day, end):
            for writer, chunk in zip(writers, day, strict=True):
                writer.write(chunk)
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE outbox")  # as autovacuum would have, over two years
        conn.execute("VACUUM ANALYZE applied_events")
        n = int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])  # type: ignore[index]
    return n, time.perf_counter() - t0


def plain_copy(source_url: str, url: str) -> float:
    """The baseline: the same rows in the plain outbox of earlier versions."""
    t0 = time.perf_counter()
    # One options= (bench/common.py's fresh_db), so its value is a str, not a tuple.
    options = make_url(source_url).query["options"]
    assert isinstance(options, str), options
    source = options.split("=")[-1]
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute("DROP TABLE outbox")
        engine = make_engine(url)
        with engine.begin() as c:
            OUTBOX.create(c)  # as SQLModel made it: one table, its three indexes
        engine.dispose()
        for table in ("outbox", "applied_events"):
            conn.execute(f'INSERT INTO {table} SELECT * FROM "{source}".{table}')  # noqa: S608
        conn.execute("VACUUM ANALYZE outbox")
    return time.perf_counter() - t0


def outbox_bytes(url: str) -> tuple[int, int]:
    """(bytes of the outbox with its indexes, bytes of outbox_ids with its index)."""
    with psycopg.connect(_dsn(url)) as conn:
        row = conn.execute(
            "SELECT coalesce((SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits"
            " WHERE inhparent = 'outbox'::regclass), pg_total_relation_size('outbox')),"
            " pg_total_relation_size('outbox_ids')"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def relay_times(url: str) -> list[float]:
    engine = make_engine(url)
    seen = []
    with engine.connect() as conn:
        for _ in range(RUNS):
            t0 = time.perf_counter()
            batch = outbox.pending(conn, RELAY_BATCH)
            seen.append(time.perf_counter() - t0)
            assert len(batch) == BACKLOG, len(batch)
    engine.dispose()
    return seen


def rebuild_time(url: str, since: datetime) -> tuple[int, float, float]:
    """(events replayed, seconds to clear, seconds to replay)."""
    engine = make_engine(url)
    hour = start_hour(since)
    t0 = time.perf_counter()
    total = clear(engine, hour)
    t1 = time.perf_counter()
    done = replay(engine, Settings(database_url=url), hour, 5000)
    t2 = time.perf_counter()
    engine.dispose()
    assert done.events == total and not done.invalid
    return total, t1 - t0, t2 - t1


def convert(url: str) -> float:
    """What the first start of this version does to an earlier PostgreSQL store."""
    engine = make_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        partitions.convert(conn)
    seconds = time.perf_counter() - t0
    engine.dispose()
    return seconds


def archive_months(url: str, before: tuple[int, int], tmp: Path) -> tuple[int, int, float]:
    """Archive the months before `before`; returns (events, bytes of the files, seconds)."""
    engine = make_engine(url)
    directory = tmp / "archive"
    directory.mkdir()
    t0 = time.perf_counter()
    done = archive.archive(engine, directory, before, REPLAYED)
    seconds = time.perf_counter() - t0
    engine.dispose()
    size = sum((directory / a.file).stat().st_size for a in done)
    return sum(a.events for a in done), size, seconds


def run(args: argparse.Namespace, tmp: Path) -> list[Figure]:
    per_day = args.events
    label = f"outbox, 2 years at {per_day:,} events/day (PostgreSQL)"
    end = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
    since = end - timedelta(days=30)
    figures: list[Figure] = []
    with fresh_db("postgresql", tmp, "outbox") as url, fresh_db("postgresql", tmp, "plain") as base:
        rows, seconds = seed(url, per_day, end)
        figures += [
            Figure(label, "events in the log (COPY)", rows, "rows"),
            Figure(label, "seconds to COPY them (+ ids, inbox)", seconds, "s"),
            Figure(
                label, "seconds to copy them into the plain baseline", plain_copy(url, base), "s"
            ),
        ]
        box, ids = outbox_bytes(url)
        plain, _ = outbox_bytes(base)
        per_event = (box + ids) / rows
        figures += [
            Figure(label, "bytes per event: monthly outbox + outbox_ids", per_event, "B"),
            Figure(label, "  of which outbox_ids", ids / rows, "B"),
            Figure(label, "bytes per event: plain outbox (baseline)", plain / rows, "B"),
            Figure(
                label,
                f"GB a year at national size ({NATIONAL_PER_DAY:,} events/day)",
                per_event * NATIONAL_PER_DAY * 365 / 1e9,
                "GB",
            ),
        ]
        for name, db in (("monthly", url), ("plain", base)):
            times = relay_times(db)
            figures += [
                Figure(
                    label, f"relay next batch, {name}: p50", statistics.median(times) * 1e3, "ms"
                ),
                Figure(label, f"relay next batch, {name}: p99", percentile(times, 99) * 1e3, "ms"),
            ]
        # Each twice, alternately, the faster kept: the machine is shared and the
        # first run of a pair would otherwise pay for the other's cold cache.
        best: dict[str, tuple[int, float, float]] = {}
        for name, db in [("monthly", url), ("plain", base)] * 2:
            got = rebuild_time(db, since)
            if name not in best or sum(got[1:]) < sum(best[name][1:]):
                best[name] = got
        for name, (events, cleared, replayed) in best.items():
            seconds = cleared + replayed
            figures += [
                Figure(label, f"rebuild --from <30 days ago>, {name}: events", events, ""),
                Figure(label, f"rebuild --from <30 days ago>, {name}: seconds", seconds, "s"),
                Figure(label, "  of which clearing", cleared, "s"),
            ]
        figures.append(
            Figure(
                label, "seconds to convert the plain one to months (migrate)", convert(base), "s"
            )
        )
        # The first (partial) month and the one after it.
        before = partitions.month_of(int((end - timedelta(days=DAYS - 62)).timestamp() * 1e6))
        events, size, seconds = archive_months(url, before, tmp)
        figures += [
            Figure(label, f"archive the months before {archive.label(before)}: events", events, ""),
            Figure(label, "  seconds (write, read back, drop)", seconds, "s"),
            Figure(label, "  gzip bytes per event", size / events, "B"),
        ]
    return figures
