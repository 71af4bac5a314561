"""What the benchmarks share: a figure, a fresh database, `opstrack up`, polling, peak RSS."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from services.stack.procs import free_port
from services.store.db import make_engine
from services.store.migrate import init_db
from tests.reference import generate_calls, utc

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# The stack's dev token (OPSTRACK_DEV_TOKEN), sent as bearer; a throwaway stack's, not a secret.
TOKEN = "opstrack-bench-token"  # noqa: S105
AUTH = {"authorization": f"Bearer {TOKEN}"}


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


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]


@dataclass(frozen=True, slots=True)
class Up:
    """A running `opstrack up` (SQLite or PostgreSQL, embedded broker) on free ports."""

    proc: subprocess.Popen[bytes]
    api: str
    worker_port: int
    log: Path
    ready_s: float  # from the start of `opstrack up` to the first /readyz 200

    def children(self) -> dict[str, int]:
        """The stack's processes by role (broker, api, worker) and their pids."""
        found = {}
        for pid in Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue  # it has just exited
            role = next((r for r in ("broker", "api", "worker") if r.encode() in argv), pid)
            found[role] = int(pid)
        return found


def start_up(url: str, tmp: Path, env: dict[str, str] | None = None, timeout: float = 90) -> Up:
    """Start `opstrack up` against `url` and return once /readyz answers 200."""
    port, worker_port = free_port(), free_port()
    argv = [sys.executable, "-m", "services.cli", "up", "--port", str(port)]
    argv += ["--worker-port", str(worker_port), "--db", url, "--state-dir", str(tmp / "state")]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPSTRACK_")}
    # No rate limit in the way: the benchmarks measure what the stack can take, well
    # above the default 2,000 events/s per source (all of them send as source `dev`).
    clean |= {"OPSTRACK_DEV_TOKEN": TOKEN, "OPSTRACK_RATE_LIMIT": "1000000"} | (env or {})
    log = tmp / "up.log"
    started = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=clean)
    api = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"opstrack up exited with {proc.returncode}:\n{tail(log)}")
        try:
            if httpx.get(f"{api}/readyz", timeout=2).status_code == 200:
                return Up(proc, api, worker_port, log, time.perf_counter() - started)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    stop_up(proc)
    raise RuntimeError(f"opstrack up not ready within {timeout:.0f} s:\n{tail(log)}")


def stop_up(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
