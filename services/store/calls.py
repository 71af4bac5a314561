"""Call buckets: additive upserts from the processor, grouped sums for the read API.

Beside the hourly buckets the store keeps rollups per local day and month
(Europe/Stockholm), added to in the same transaction. A read sums each part of
its period from the coarsest level that covers that part exactly: whole months
from the monthly rollups, whole days around them from the daily ones, and only
the hours at the edges from the hourly buckets. A year grouped by municipality
then reads about 12 rows per queue instead of 8,760.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, delete, func, or_, select, text

from services.core.calendar import BusinessCalendar
from services.core.calls import BucketKey, CallBucket
from services.core.periods import STOCKHOLM
from services.core.staffing_plan import StaffingConfig, history_span
from services.store.db import insert_for
from services.store.tables import (
    CallBucketRow,
    CallCounts,
    CallQueueHourRow,
    CallRollupRow,
    CallRollupWithinRow,
    CallWithinRow,
)

BUCKETS: Table = CallBucketRow.__table__  # type: ignore[attr-defined]
WITHIN: Table = CallWithinRow.__table__  # type: ignore[attr-defined]
ROLLUPS: Table = CallRollupRow.__table__  # type: ignore[attr-defined]
ROLLUPS_WITHIN: Table = CallRollupWithinRow.__table__  # type: ignore[attr-defined]
QUEUE_HOURS: Table = CallQueueHourRow.__table__  # type: ignore[attr-defined]
_COUNTS = tuple(CallCounts.model_fields)  # offered .. talk_ms, in column order
GROUP_COLUMNS = ("queue", "municipality", "hour")
GRAINS = ("day", "month")  # the rollup levels, finer first
RollupKey = tuple[str, int, str, str]  # grain, start, queue, municipality
ALL_QUEUES = ""  # call_queue_hours' queue of every queue's calls (a queue's name is never empty)


def add_buckets(conn: Connection, deltas: Mapping[BucketKey, CallBucket]) -> None:
    """Add each delta to its stored bucket (created at zero if new), to its day's and
    month's rollups and to its queue's hour, in the caller's transaction."""
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
    bucket_upsert, within_upsert = _upserts(conn.dialect.name, "hour")
    conn.execute(bucket_upsert, rows)
    within = [
        {"hour": k.hour, "queue": k.queue, "municipality": k.municipality} | row
        for k in keys
        for row in _within_rows(deltas[k])
    ]
    if within:
        conn.execute(within_upsert, within)
    _add_rollups(conn, roll_up(deltas, GRAINS))
    pooled: dict[tuple[str, int], CallBucket] = {}
    for k in keys:
        for queue in (k.queue, ALL_QUEUES):
            pooled.setdefault((queue, k.hour), CallBucket()).add(deltas[k])
    conn.execute(
        _queue_hour_upsert(conn.dialect.name),
        [
            {"queue": queue, "hour": hour} | {c: getattr(b, c) for c in _COUNTS}
            for (queue, hour), b in sorted(pooled.items())
        ],
    )


def _within_rows(bucket: CallBucket) -> list[dict[str, int]]:
    """The within-threshold rows of one bucket: answered and abandoned per threshold."""
    rows = []
    for t in sorted(bucket.answered_within.keys() | bucket.abandoned_within.keys()):
        answered, abandoned = bucket.answered_within.get(t, 0), bucket.abandoned_within.get(t, 0)
        if answered or abandoned:  # a row of zeros would add nothing
            rows.append({"threshold_s": t, "answered": answered, "abandoned": abandoned})
    return rows


@lru_cache(maxsize=65_536)
def period_start(t: int, grain: str) -> int:
    """The UTC epoch second at which the local day or month holding `t` begins."""
    local = datetime.fromtimestamp(t, STOCKHOLM)
    day = 1 if grain == "month" else local.day
    # A local midnight is never ambiguous in Stockholm (clocks change at 02-03).
    return int(datetime(local.year, local.month, day, tzinfo=STOCKHOLM).timestamp())


def next_start(t: int, grain: str) -> int:
    """The first local day or month start at or after `t`."""
    start = period_start(t, grain)
    if start == t:
        return t
    local = datetime.fromtimestamp(start, STOCKHOLM)
    if grain == "day":
        following = (local + timedelta(days=1)).date()
    else:
        following = (local.replace(day=28) + timedelta(days=4)).replace(day=1).date()
    y, m, d = following.year, following.month, following.day
    return int(datetime(y, m, d, tzinfo=STOCKHOLM).timestamp())


def roll_up(
    deltas: Mapping[BucketKey, CallBucket], grains: Iterable[str]
) -> dict[RollupKey, CallBucket]:
    """Hourly deltas summed into their days' or months' rollups."""
    out: dict[RollupKey, CallBucket] = {}
    for grain in grains:
        for k, delta in deltas.items():
            key = (grain, period_start(k.hour, grain), k.queue, k.municipality)
            out.setdefault(key, CallBucket()).add(delta)
    return out


def _add_rollups(conn: Connection, rolled: Mapping[RollupKey, CallBucket]) -> None:
    if not rolled:
        return
    keys = sorted(rolled)
    names = ("grain", "start", "queue", "municipality")
    upsert, within_upsert = _upserts(conn.dialect.name, "rollup")
    conn.execute(
        upsert,
        [
            dict(zip(names, k, strict=True)) | {c: getattr(rolled[k], c) for c in _COUNTS}
            for k in keys
        ],
    )
    within = [
        dict(zip(names, k, strict=True)) | row for k in keys for row in _within_rows(rolled[k])
    ]
    if within:
        conn.execute(within_upsert, within)


@cache
def _upserts(dialect: str, level: str) -> tuple[Any, Any]:
    """The two upsert statements of a level ("hour" or "rollup"), built once per
    dialect: building them for each batch showed in the worker's profile under
    bench/processor.py."""
    table, within_table = (BUCKETS, WITHIN) if level == "hour" else (ROLLUPS, ROLLUPS_WITHIN)
    key = ["hour"] if level == "hour" else ["grain", "start"]
    ins = insert_for(dialect, table)
    buckets = ins.on_conflict_do_update(
        index_elements=[*key, "queue", "municipality"],
        set_={c: table.c[c] + ins.excluded[c] for c in _COUNTS},
    )
    ins = insert_for(dialect, within_table)
    within = ins.on_conflict_do_update(
        index_elements=[*key, "queue", "municipality", "threshold_s"],
        set_={
            "answered": within_table.c.answered + ins.excluded.answered,
            "abandoned": within_table.c.abandoned + ins.excluded.abandoned,
        },
    )
    return buckets, within


@cache
def _queue_hour_upsert(dialect: str) -> Any:
    ins = insert_for(dialect, QUEUE_HOURS)
    return ins.on_conflict_do_update(
        index_elements=["queue", "hour"],
        set_={c: QUEUE_HOURS.c[c] + ins.excluded[c] for c in _COUNTS},
    )


Cover = dict[str, list[tuple[int, int]]]


def cover(start: int, end: int) -> Cover:
    """[start, end) cut into ranges of period starts per level: "month" and "day"
    ranges of rollup starts covered whole, "hour" ranges of bucket hours at the edges."""
    out: Cover = {"hour": [], "day": [], "month": []}
    d0, d1 = next_start(start, "day"), period_start(end, "day")
    if d0 >= d1:
        out["hour"].append((start, end))
        return out
    out["hour"] += [r for r in ((start, d0), (d1, end)) if r[0] < r[1]]
    m0, m1 = next_start(d0, "month"), period_start(d1, "month")
    if m0 < m1:
        out["month"].append((m0, m1))
        out["day"] += [r for r in ((d0, m0), (m1, d1)) if r[0] < r[1]]
    else:
        out["day"].append((d0, d1))
    return out


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
    # Grouped by hour, every hour is its own group: only the hourly buckets have them.
    parts = {"hour": [(start_hour, end_hour)]} if "hour" in by else cover(start_hour, end_hour)
    # Ungrouped, the answer is one row even with no calls (as SUM over no rows).
    out: dict[tuple[Any, ...], CallBucket] = {} if by else {(): CallBucket()}
    hours = parts.get("hour", [])
    if hours:
        in_hours = [and_(BUCKETS.c.hour >= a, BUCKETS.c.hour < b) for a, b in hours]
        w_hours = [and_(WITHIN.c.hour >= a, WITHIN.c.hour < b) for a, b in hours]
        _sum_into(out, conn, BUCKETS, WITHIN, or_(*in_hours), or_(*w_hours), by, filters)
    rolled = [(g, a, b) for g in GRAINS for a, b in parts.get(g, [])]
    if rolled:
        conds = [
            and_(t.c.grain == g, t.c.start >= a, t.c.start < b)
            for t in (ROLLUPS, ROLLUPS_WITHIN)
            for g, a, b in rolled
        ]
        n = len(rolled)
        _sum_into(out, conn, ROLLUPS, ROLLUPS_WITHIN, or_(*conds[:n]), or_(*conds[n:]), by, filters)
    # A group with no offered calls can still appear through SUM over zero rows
    # only in the ungrouped case; drop empty groups elsewhere.
    if by:
        out = {k: v for k, v in out.items() if v.offered}
    return out


def hourly(
    conn: Connection,
    start_hour: int,
    end_hour: int,
    filters: Mapping[str, str | None] | None = None,
) -> dict[int, CallBucket]:
    """The counts of each hour of [start_hour, end_hour) with offered calls (UTC hour ->
    bucket), the filters' queues and municipalities summed; no within-threshold counts.

    Without a municipality filter from the queues' hours (call_queue_hours): a
    year is then 8,760 rows, whatever the number of queues and municipalities. With
    one, from the hourly buckets.
    """
    given = {k: v for k, v in (filters or {}).items() if v is not None}
    for col in given:
        if col not in GROUP_COLUMNS or col == "hour":
            raise ValueError(f"cannot filter calls by {col!r}")
    table, conds = BUCKETS, [BUCKETS.c[col] == value for col, value in given.items()]
    if "municipality" not in given:
        table, conds = QUEUE_HOURS, [QUEUE_HOURS.c.queue == given.get("queue", ALL_QUEUES)]
    sums = [func.sum(table.c[c]) for c in _COUNTS]
    query = select(table.c.hour, *sums).where(
        table.c.hour >= start_hour, table.c.hour < end_hour, *conds
    )
    out: dict[int, CallBucket] = {}
    for row in conn.execute(query.group_by(table.c.hour)):
        counts = {c: int(v or 0) for c, v in zip(_COUNTS, row[1:], strict=True)}
        if counts["offered"]:
            out[int(row[0])] = CallBucket(**counts)  # type: ignore[arg-type]
    return out


def daily_sums(
    conn: Connection,
    start_hour: int,
    end_hour: int,
    filters: Mapping[str, str | None] | None = None,
) -> dict[int, CallBucket]:
    """The buckets of [start_hour, end_hour) summed per local day, keyed by the
    day's start (UTC epoch seconds): whole days from the daily rollups, the
    hours at the edges from the hourly buckets. Days with no offered call are left out."""
    d0, d1 = next_start(start_hour, "day"), period_start(end_hour, "day")
    out: dict[int, CallBucket] = {}
    edges = [(start_hour, end_hour)]
    if d0 < d1:
        edges = [r for r in ((start_hour, d0), (d1, end_hour)) if r[0] < r[1]]
        days: dict[tuple[Any, ...], CallBucket] = {}
        conds = [
            and_(t.c.grain == "day", t.c.start >= d0, t.c.start < d1)
            for t in (ROLLUPS, ROLLUPS_WITHIN)
        ]
        _sum_into(days, conn, ROLLUPS, ROLLUPS_WITHIN, conds[0], conds[1], ("start",), filters)
        out = {int(k[0]): v for k, v in days.items()}
    for a, b in edges:
        for (hour,), bucket in sum_buckets(conn, a, b, by=("hour",), filters=filters).items():
            out.setdefault(period_start(int(hour), "day"), CallBucket()).add(bucket)
    return {day: b for day, b in sorted(out.items()) if b.offered}


def _sum_into(
    out: dict[tuple[Any, ...], CallBucket],
    conn: Connection,
    table: Table,
    within: Table,
    where: ColumnElement[bool],
    wwhere: ColumnElement[bool],
    by: Sequence[str],
    filters: Mapping[str, str | None] | None,
) -> None:
    """Add the sums of `table` (and its `within`) where `where`, grouped by `by`, to `out`."""
    conds, wconds = [where], [wwhere]
    for col, value in (filters or {}).items():
        if value is not None:
            conds.append(table.c[col] == value)
            wconds.append(within.c[col] == value)
    sums = [func.sum(table.c[c]) for c in _COUNTS]
    query = select(*[table.c[c] for c in by], *sums).where(*conds)
    for row in conn.execute(query.group_by(*[table.c[c] for c in by])):
        key = tuple(row[: len(by)])
        counts = {c: int(v or 0) for c, v in zip(_COUNTS, row[len(by) :], strict=True)}
        out.setdefault(key, CallBucket()).add(CallBucket(**counts))  # type: ignore[arg-type]

    wgroup = [within.c[c] for c in by] + [within.c.threshold_s]
    wsums = (func.sum(within.c.answered), func.sum(within.c.abandoned))
    wquery = select(*wgroup, *wsums).where(*wconds).group_by(*wgroup)
    for row in conn.execute(wquery):
        key = tuple(row[: len(by)])
        threshold = row[len(by)]
        answered, abandoned = int(row[len(by) + 1] or 0), int(row[len(by) + 2] or 0)
        bucket = out.setdefault(key, CallBucket())
        # Every threshold with a row is in answered_within (0 when only abandoned
        # calls had one), abandoned_within only those with abandoned calls: as
        # the hourly rows were written (_within_rows).
        bucket.answered_within[threshold] = bucket.answered_within.get(threshold, 0) + answered
        if abandoned:
            got = bucket.abandoned_within.get(threshold, 0)
            bucket.abandoned_within[threshold] = got + abandoned


def clear_rollups_from(conn: Connection, since_hour: int) -> None:
    """After the hourly buckets from since_hour on were deleted: delete the rollups
    of every day and month from the one holding since_hour on, and sum that day's
    and month's hours before since_hour into them again from the buckets kept."""
    conn.execute(delete(QUEUE_HOURS).where(QUEUE_HOURS.c.hour >= since_hour))
    for grain in GRAINS:
        first = period_start(since_hour, grain) if since_hour > 0 else 0
        for table in (ROLLUPS, ROLLUPS_WITHIN):
            conn.execute(delete(table).where(table.c.grain == grain, table.c.start >= first))
        if first < since_hour:
            rebuild_rollups(conn, first, since_hour, (grain,))


def rebuild_rollups(conn: Connection, start: int, end: int, grains: Sequence[str] = GRAINS) -> None:
    """Add the hourly buckets of [start, end) to their rollups of `grains`, which
    must hold nothing of that range yet.

    In SQL, so that a national store's 15 million hours take seconds, not the
    Python round trip of each: a temporary table maps each hour of the range to
    its local day and month (computed here, as SQLite knows no time zones), and
    the buckets are summed grouped by those.
    """
    first = -(-start // 3600) * 3600  # buckets sit on whole UTC hours
    if first >= end:
        return
    conn.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS opstrack_rollup_hours"
            " (hour BIGINT PRIMARY KEY, day BIGINT NOT NULL, month BIGINT NOT NULL)"
        )
    )
    conn.execute(text("DELETE FROM opstrack_rollup_hours"))
    conn.execute(
        text("INSERT INTO opstrack_rollup_hours (hour, day, month) VALUES (:h, :d, :m)"),
        [
            {"h": h, "d": period_start(h, "day"), "m": period_start(h, "month")}
            for h in range(first, end, 3600)
        ],
    )
    counts = ", ".join(_COUNTS)
    sums = ", ".join(f"SUM(b.{c})" for c in _COUNTS)
    for grain in grains:
        if grain not in GRAINS:
            raise ValueError(f"no rollup of grain {grain!r}")
        conn.execute(
            text(
                f"INSERT INTO call_rollups (grain, start, queue, municipality, {counts})"  # noqa: S608 - names from this module
                f" SELECT :grain, m.{grain}, b.queue, b.municipality, {sums}"
                " FROM call_buckets b JOIN opstrack_rollup_hours m ON b.hour = m.hour"
                f" GROUP BY m.{grain}, b.queue, b.municipality"
            ),
            {"grain": grain},
        )
        conn.execute(
            text(
                "INSERT INTO call_rollups_within"  # noqa: S608 - names from this module
                " (grain, start, queue, municipality, threshold_s, answered, abandoned)"
                f" SELECT :grain, m.{grain}, w.queue, w.municipality, w.threshold_s,"
                " SUM(w.answered), SUM(w.abandoned)"
                " FROM call_buckets_within w JOIN opstrack_rollup_hours m ON w.hour = m.hour"
                f" GROUP BY m.{grain}, w.queue, w.municipality, w.threshold_s"
            ),
            {"grain": grain},
        )
    conn.execute(text("DELETE FROM opstrack_rollup_hours"))


def rebuild_all_rollups(conn: Connection) -> None:
    """Rollups anew from every hourly bucket: for a store made before they existed."""
    for table in (ROLLUPS, ROLLUPS_WITHIN):
        conn.execute(delete(table))
    rebuild_queue_hours(conn)
    first, last = conn.execute(select(func.min(BUCKETS.c.hour), func.max(BUCKETS.c.hour))).one()
    if first is not None:
        rebuild_rollups(conn, int(first), int(last) + 3600)


def rebuild_queue_hours(conn: Connection) -> None:
    """The queues' hours anew from every hourly bucket (a store made before them)."""
    conn.execute(delete(QUEUE_HOURS))
    counts = ", ".join(_COUNTS)
    sums = ", ".join(f"SUM({c})" for c in _COUNTS)
    # Each queue's hours, and every queue's together.
    for select_, group in (("queue", "queue, hour"), ("''", "hour")):
        conn.execute(
            text(
                f"INSERT INTO call_queue_hours (queue, hour, {counts})"  # noqa: S608 - names from this module
                f" SELECT {select_}, hour, {sums} FROM call_buckets GROUP BY {group}"
            )
        )


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
    return hourly(conn, int(start.timestamp()), int(end.timestamp()), {"queue": queue})
