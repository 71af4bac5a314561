"""Archiving the outbox by month: a month's events (by received_at_us, UTC) go to
one compressed file, outbox-YYYY-MM.jsonl.gz, and leave the store.

A file is written beside its final name, flushed to disk, read back and compared
with the rows, and only then renamed into place; the rows are dropped after that,
in the transaction that records the file in outbox_archives (its checksum and
the event times it holds). A month with events not yet published, or not yet
applied by a processor, is never archived. `rebuild --archive DIR` reads the
files back (services/processor/replay.py); a missing or altered file is an error
naming it. The ids stay in outbox_ids: an archived event sent again is a duplicate.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, text, update

from services.store import partitions
from services.store.db import insert_for, now_us
from services.store.outbox import APPLIED, OUTBOX
from services.store.tables import OutboxArchive

ARCHIVES = OutboxArchive.__table__  # type: ignore[attr-defined]
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_PAGE = 5000
_COLUMNS = ("id", "type", "topic", "key", "event_time_ms", "received_at_us", "published", "payload")

Month = tuple[int, int]


class ArchiveError(ValueError):
    """Bad input or a file that is not what the store recorded: the message says which."""


@dataclass(frozen=True, slots=True)
class Archived:
    month: str
    file: str
    events: int
    min_event_time_ms: int
    max_event_time_ms: int
    sha256: str


def parse_month(value: str) -> Month:
    m = _MONTH.fullmatch(value.strip())
    if m is None or not 1 <= int(m.group(2)) <= 12:
        raise ArchiveError(f"{value!r} is not a month: write it YYYY-MM, e.g. 2025-01")
    return int(m.group(1)), int(m.group(2))


def label(month: Month) -> str:
    return f"{month[0]:04}-{month[1]:02}"


def file_name(month: Month) -> str:
    return f"outbox-{label(month)}.jsonl.gz"


def _in_month(month: Month) -> Any:
    lo = partitions.month_start_us(*month)
    hi = partitions.month_start_us(*partitions.next_month(*month))
    return and_(OUTBOX.c.received_at_us >= lo, OUTBOX.c.received_at_us < hi)


def months_before(conn: Connection, before: Month) -> list[Month]:
    """The months before `before` that have outbox rows (or, on PostgreSQL, a partition)."""
    if partitions.is_partitioned(conn):
        return [m for m in partitions.months(conn) if m < before]
    first = conn.execute(select(func.min(OUTBOX.c.received_at_us))).scalar_one_or_none()
    if first is None:
        return []
    out, month = [], partitions.month_of(first)
    while month < before:
        if conn.execute(select(OUTBOX.c.id).where(_in_month(month)).limit(1)).first():
            out.append(month)
        month = partitions.next_month(*month)
    return out


def unfinished(conn: Connection, month: Month, families: Collection[str]) -> tuple[int, int]:
    """(events not yet published, events of these families no processor applied) of the month."""
    unpublished = conn.execute(
        select(func.count()).select_from(OUTBOX).where(_in_month(month), ~OUTBOX.c.published)
    ).scalar_one()
    applied = select(APPLIED.c.id).where(APPLIED.c.id == OUTBOX.c.id).exists()
    of_family = or_(*[OUTBOX.c.type.like(f"{f}.%") for f in sorted(families)])
    unapplied = conn.execute(
        select(func.count()).select_from(OUTBOX).where(_in_month(month), of_family, ~applied)
    ).scalar_one()
    return int(unpublished), int(unapplied)


def _rows(conn: Connection, month: Month) -> Iterator[list[dict[str, Any]]]:
    """The month's rows in received order, in pages of one streamed read (a server-side
    cursor on PostgreSQL): one sort of the month, not a scan of it per page."""
    cols = [OUTBOX.c[c] for c in _COLUMNS]
    query = select(*cols).where(_in_month(month)).order_by(OUTBOX.c.received_at_us, OUTBOX.c.id)
    result = conn.execute(query.execution_options(yield_per=_PAGE))
    for part in result.partitions():
        yield [dict(r._mapping) for r in part]


def _write(conn: Connection, month: Month, path: Path) -> Archived:
    """Write the month to path through a temporary file; read it back before renaming."""
    tmp = path.with_name(path.name + ".tmp")
    content = hashlib.sha256()
    events, lo, hi = 0, None, None
    with tmp.open("wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            for page in _rows(conn, month):
                for row in page:
                    line = orjson.dumps(row) + b"\n"
                    gz.write(line)
                    content.update(line)
                    t = row["event_time_ms"]
                    lo, hi = t if lo is None else min(lo, t), t if hi is None else max(hi, t)
                events += len(page)
        raw.flush()
        os.fsync(raw.fileno())
    again = hashlib.sha256()
    seen = 0
    for page in read_file(tmp):
        for row in page:
            again.update(orjson.dumps(row) + b"\n")
        seen += len(page)
    if (seen, again.hexdigest()) != (events, content.hexdigest()) or lo is None or hi is None:
        tmp.unlink()
        raise ArchiveError(f"{tmp}: read back, it did not hold the {events} events written")
    digest = _sha256(tmp)
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return Archived(label(month), path.name, events, lo, hi, digest)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def archive_month(
    engine: Engine, month: Month, directory: Path, families: Collection[str]
) -> Archived | None:
    """Export the month, then drop it from the outbox (None: it held no events).

    The file is written from a read (SQLite's API writes go on meanwhile); the drop
    is a short write transaction of its own that first checks, with the month
    locked, that it still has no work left and holds what the file holds.
    """
    with engine.connect() as conn:
        _refuse_unfinished(conn, month, families)
        has_rows = conn.execute(select(OUTBOX.c.id).where(_in_month(month)).limit(1)).first()
        done = _write(conn, month, directory / file_name(month)) if has_rows else None
    with engine.begin() as conn:
        if partitions.is_partitioned(conn):
            # No relay or requeue changes the month's rows from here to the drop.
            conn.execute(text(f"LOCK TABLE {partitions.name(*month)} IN SHARE MODE"))
        else:
            # SQLite: a write first, so that this transaction holds the write lock
            # before it reads (a read first could not become a write once the API wrote).
            conn.execute(update(ARCHIVES).where(ARCHIVES.c.month == "").values(file=""))
        _refuse_unfinished(conn, month, families)
        now = conn.execute(select(func.count()).select_from(OUTBOX).where(_in_month(month)))
        if now.scalar_one() != (0 if done is None else done.events):
            raise ArchiveError(
                f"{label(month)} not archived: events of it arrived while it was written"
                f" (received times set by hand?); run again"
            )
        if partitions.is_partitioned(conn):
            conn.execute(text(f"DROP TABLE {partitions.name(*month)}"))
        # (On PostgreSQL: rows of the month the default partition holds, if any.)
        conn.execute(delete(OUTBOX).where(_in_month(month)))
        if done is not None:
            row = {
                "month": done.month,
                "file": done.file,
                "events": done.events,
                "sha256": done.sha256,
                "min_event_time_ms": done.min_event_time_ms,
                "max_event_time_ms": done.max_event_time_ms,
                "archived_at_us": now_us(),
            }
            conn.execute(insert_for(conn.dialect.name, ARCHIVES).values(**row))
    return done


def _refuse_unfinished(conn: Connection, month: Month, families: Collection[str]) -> None:
    unpublished, unapplied = unfinished(conn, month, families)
    if unpublished or unapplied:
        raise ArchiveError(
            f"{label(month)} not archived: {unpublished:,} events not yet published and"
            f" {unapplied:,} not yet applied (start the relay and the workers, or wait)"
        )


def archive(
    engine: Engine, directory: Path, before: Month, families: Collection[str]
) -> list[Archived]:
    """Archive every month before `before`, oldest first, each on its own; stops with
    an ArchiveError at a month that still has work to do."""
    if not directory.is_dir():
        raise ArchiveError(f"{directory}: no such directory")
    this = partitions.month_of(now_us())
    if before > this:
        raise ArchiveError(
            f"{label(this)} is still being received: archive months before it at most"
            f" (--before {label(this)})"
        )
    with engine.connect() as conn:
        months = months_before(conn, before)
    done: list[Archived] = []
    for month in months:
        one = archive_month(engine, month, directory, families)
        if one is not None:
            done.append(one)
    return done


def needed(conn: Connection, since_ms: int) -> list[Archived]:
    """The archived months holding events from since_ms on, oldest first."""
    query = select(ARCHIVES).where(ARCHIVES.c.max_event_time_ms >= since_ms)
    return [
        Archived(r.month, r.file, r.events, r.min_event_time_ms, r.max_event_time_ms, r.sha256)
        for r in conn.execute(query.order_by(ARCHIVES.c.month))
    ]


def read_file(path: Path) -> Iterator[list[dict[str, Any]]]:
    """The rows of an archive file, in pages; a damaged file is an ArchiveError naming it."""
    n = 0
    page: list[dict[str, Any]] = []
    try:
        with gzip.open(path, "rb") as f:
            for n, line in enumerate(f, start=1):
                row = orjson.loads(line)
                if not isinstance(row, dict) or set(row) != set(_COLUMNS):
                    raise ArchiveError(f"{path} line {n}: not an outbox row")
                page.append(row)
                if len(page) == _PAGE:
                    yield page
                    page = []
    except orjson.JSONDecodeError as exc:
        raise ArchiveError(f"{path} line {n}: not JSON ({exc})") from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{path}: not a readable gzip file ({exc})") from exc
    if page:
        yield page


def read(directory: Path, archived: Archived) -> Iterator[list[dict[str, Any]]]:
    """An archived month's rows, after checking that its file is the one written."""
    path = directory / archived.file
    if not path.is_file():
        raise ArchiveError(f"{path}: missing (the archive of {archived.month})")
    digest = _sha256(path)
    if digest != archived.sha256:
        raise ArchiveError(
            f"{path}: not the file archived ({archived.month}): its sha256 is {digest},"
            f" {archived.sha256} was recorded"
        )
    yield from read_file(path)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
