"""Grouping bucket sums for the read API: by queue, municipality, local hour or day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from services.core.calls import CallBucket
from services.core.periods import STOCKHOLM, rfc3339

CALL_GROUPS = ("queue", "municipality", "hour", "day")


class GroupError(ValueError):
    pass


def parse_group_by(text: str | None, allowed: tuple[str, ...] = CALL_GROUPS) -> tuple[str, ...]:
    """`queue,day` -> ("queue", "day"); hour and day exclude each other."""
    if not text:
        return ()
    parts = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    for p in parts:
        if p not in allowed:
            raise GroupError(f"cannot group by {p!r}: use one or more of {', '.join(allowed)}")
    if "hour" in parts and "day" in parts:
        raise GroupError("group by hour or by day, not both")
    return parts


def store_columns(group_by: tuple[str, ...]) -> tuple[str, ...]:
    """The stored columns to sum by: a day is summed from its hours."""
    return tuple("hour" if g in ("hour", "day") else g for g in group_by)


def bucket_start(hour_epoch: int, grain: str) -> datetime:
    start = datetime.fromtimestamp(hour_epoch, STOCKHOLM)
    if grain == "day":
        # replace() on a zoneinfo datetime recomputes the offset, so midnight
        # gets its own (winter or summer) offset on DST days.
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return start


def regroup(
    sums: Mapping[tuple[Any, ...], CallBucket], group_by: tuple[str, ...]
) -> list[tuple[dict[str, Any], CallBucket]]:
    """Turn sums keyed by store columns into API rows keyed by the requested groups."""
    out: dict[tuple[Any, ...], tuple[dict[str, Any], CallBucket]] = {}
    for key, bucket in sums.items():
        labels: dict[str, Any] = {}
        for g, value in zip(group_by, key, strict=True):
            if g in ("hour", "day"):
                labels["bucket_start"] = bucket_start(int(value), g)
            else:
                labels[g] = value
        # Keyed by instant: datetimes in one zone compare by wall time, which
        # would merge the two 02:00 hours of the autumn DST change.
        ident = tuple(v.timestamp() if isinstance(v, datetime) else v for v in labels.values())
        if ident in out:
            out[ident][1].add(bucket)
        else:
            merged = CallBucket()
            merged.add(bucket)
            out[ident] = (labels, merged)
    rows = [out[k] for k in sorted(out)]  # chronological: bucket starts are instants here
    for labels, _ in rows:
        if "bucket_start" in labels:
            labels["bucket_start"] = rfc3339(labels["bucket_start"])
    return rows
