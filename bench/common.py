"""What the benchmarks share: a figure, a fresh database, polling the inbox, peak RSS."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from services.store.db import init_db, make_engine
from tests.reference import generate_calls, utc

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def call_events(calls: int, seed: int) -> list[dict[str, Any]]:
    """Two events per call (queued, then ended), entering queues over one day, in call order.

    One day keeps a batch of 1,000 events within ~100 hourly buckets; spread over
    weeks, nearly every call gets its own bucket row and the upserts dominate.
    """
    return generate_calls(calls, seed=seed, start=utc(2022, 5, 2, 0), hours=24)


@dataclass(frozen=True, slots=True)
class Figure:
    benchmark: str
    figure: str
    value: float | int | str
    unit: str = ""


@contextmanager
def fresh_db(kind: str, tmp: Path, name: str) -> Iterator[str]:
    """The URL of an empty database with opstrack's tables: a SQLite file or a PostgreSQL schema."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp / f'{name}.db'}"
        _init(url)
        yield url
        return
    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        _init(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _init(url: str) -> None:
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()


@dataclass(frozen=True, slots=True)
class Applied:
    first: float  # wall-clock time of the first applied event (its inbox timestamp)
    done: float  # wall-clock time the poll first saw all n ids


def wait_applied(
    url: str, n: int, proc: subprocess.Popen[bytes], timeout: float, log: Path
) -> Applied:
    """Poll the inbox every 0.1 s until it holds n distinct event ids (its primary key)."""
    engine = make_engine(url)
    query = text("SELECT count(*), min(applied_at_us) FROM applied_events")
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                count, first_us = conn.execute(query).one()
            if count >= n:
                return Applied(first=first_us / 1e6, done=time.time())
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {count} of {n} applied in {timeout:.0f}s:\n{tail(log)}")
            time.sleep(0.1)
    finally:
        engine.dispose()


def tail(log: Path, lines: int = 20) -> str:
    """The end of a log, for error messages (the logs go with the temporary directory)."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process has held so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")
