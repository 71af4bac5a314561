"""Call buckets: additive upserts from the processor, grouped sums for the read API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, func, select

from services.core.calendar import BusinessCalendar
from services.core.calls import BucketKey, CallBucket
from services.core.staffing_plan import StaffingConfig, history_span
from services.store.db import insert_for
from services.store.tables import CallBucketRow, CallWithinRow

BUCKETS = CallBucketRow.__table__  # type: ignore[attr-defined]
WITHIN = CallWithinRow.__table__  # type: ignore[attr-defined]
_COUNTS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "exited",
    "wait_answered_ms",
    "wait_offered_ms",
    "talked",
    "talk_ms",
)
GROUP_COLUMNS = ("queue", "municipality", "hour")


def add_buckets(conn: Connection, deltas: Mapping[BucketKey, CallBucket]) -> None:
    """Add each delta to its stored bucket (created at zero if new)."""
    if not deltas:
        return
    # Sorted keys: concurrent workers lock rows in one order and cannot deadlock.
    keys = sorted(deltas)
    rows = [
        {"hour": k.hour, "queue": k.queue, "municipality": k.municipality}
        | {c: getattr(deltas[k], c) for c in _COUNTS}
        for k in keys
    ]
    # Rows as parameters, not .values(rows): compiled once and cached.
    bucket_upsert, within_upsert = _upserts(conn.dialect.name)
    conn.execute(bucket_upsert, rows)
    within = []
    for k in keys:
        d = deltas[k]
        for t in sorted(d.answered_within.keys() | d.abandoned_within.keys()):
            answered, abandoned = d.answered_within.get(t, 0), d.abandoned_within.get(t, 0)
            if answered or abandoned:  # a row of zeros would add nothing
                within.append(
                    {"hour": k.hour, "queue": k.queue, "municipality": k.municipality}
                    | {"threshold_s": t, "answered": answered, "abandoned": abandoned}
                )
    if within:
        conn.execute(within_upsert, within)


@cache
def _upserts(dialect: str) -> tuple[Any, Any]:
    """The two upsert statements, built once per dialect: building them for each
    batch showed in the worker's profile under bench/processor.py."""
    ins = insert_for(dialect, BUCKETS)
    buckets = ins.on_conflict_do_update(
        index_elements=["hour", "queue", "municipality"],
        set_={c: BUCKETS.c[c] + ins.excluded[c] for c in _COUNTS},
    )
    ins = insert_for(dialect, WITHIN)
    within = ins.on_conflict_do_update(
        index_elements=["hour", "queue", "municipality", "threshold_s"],
        set_={
            "answered": WITHIN.c.answered + ins.excluded.answered,
            "abandoned": WITHIN.c.abandoned + ins.excluded.abandoned,
        },
    )
    return buckets, within


def sum_buckets(
    conn: Connection,
    start_hour: int,
    end_hour: int,
    *,
    by: Sequence[str] = (),
    filters: Mapping[str, str | None] | None = None,
) -> dict[tuple[Any, ...], CallBucket]:
    """Sum the buckets with start_hour <= hour < end_hour, grouped by columns `by`."""
    for col in by:
        if col not in GROUP_COLUMNS:
            raise ValueError(f"cannot group calls by {col!r}")
    conds = [BUCKETS.c.hour >= start_hour, BUCKETS.c.hour < end_hour]
    wconds = [WITHIN.c.hour >= start_hour, WITHIN.c.hour < end_hour]
    for col, value in (filters or {}).items():
        if value is not None:
            conds.append(BUCKETS.c[col] == value)
            wconds.append(WITHIN.c[col] == value)

    out: dict[tuple[Any, ...], CallBucket] = {}
    sums = [func.sum(BUCKETS.c[c]) for c in _COUNTS]
    query = select(*[BUCKETS.c[c] for c in by], *sums).where(*conds)
    for row in conn.execute(query.group_by(*[BUCKETS.c[c] for c in by])):
        key = tuple(row[: len(by)])
        counts = {c: int(v or 0) for c, v in zip(_COUNTS, row[len(by) :], strict=True)}
        out[key] = CallBucket(**counts)  # type: ignore[arg-type]

    wgroup = [WITHIN.c[c] for c in by] + [WITHIN.c.threshold_s]
    wsums = (func.sum(WITHIN.c.answered), func.sum(WITHIN.c.abandoned))
    wquery = select(*wgroup, *wsums).where(*wconds).group_by(*wgroup)
    for row in conn.execute(wquery):
        key = tuple(row[: len(by)])
        threshold = row[len(by)]
        bucket = out.setdefault(key, CallBucket())
        bucket.answered_within[threshold] = int(row[len(by) + 1] or 0)
        abandoned = int(row[len(by) + 2] or 0)
        if abandoned:
            bucket.abandoned_within[threshold] = abandoned
    # A group with no offered calls can still appear through SUM over zero rows
    # only in the ungrouped case; drop empty groups elsewhere.
    if by:
        out = {k: v for k, v in out.items() if v.offered}
    return out


def staffing_history(
    conn: Connection,
    year: int,
    week: int,
    cfg: StaffingConfig,
    cal: BusinessCalendar,
    queue: str | None = None,
) -> dict[int, CallBucket]:
    """The hourly buckets (UTC hour -> bucket) a staffing plan of `year`-W`week` reads:
    one queue, or all queues pooled. ValueError when that is no ISO week.

    The one read behind GET /v1/staffing and the worker's staffing gauges.
    """
    start, end = history_span(year, week, cfg, cal)
    sums = sum_buckets(
        conn, int(start.timestamp()), int(end.timestamp()), by=("hour",), filters={"queue": queue}
    )
    return {int(k[0]): b for k, b in sums.items()}
