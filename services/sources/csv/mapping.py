"""CSV rows → CloudEvents: a mapping spec says which column feeds which event field.

Pure: the caller reads the YAML spec and the CSV file. One row is one call, ticket or
incident; its timestamps become that entity's lifecycle events. Event ids are
`<id_prefix>-<key>-<step>` from a key column and never from a time, so importing the
same file again (or a later export that repeats the rows) counts nothing twice. The
flip side: a row whose times were corrected after the first import does not replace
what was stored; the first import of an id wins, as everywhere in opstrack.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

from services.core.events import EventError, parse_event
from services.core.timeparse import Ambiguous, parse_seconds, parse_time, shift
from services.sources.mapping import Scalar, ValueMap, event_id, load_spec

Kind = Literal["calls", "tickets", "incidents"]
Row = tuple[int, Mapping[str, str]]  # (line number in the file, cells by header name)
Built = tuple[dict[str, Any], str]  # (event, the mapped field its time came from)

# Terminal outcomes of a call; the last five are `call.exited` with that reason.
OUTCOMES = ("answered", "abandoned", "timeout", "key", "empty", "full", "closed")


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    column: str
    message: str


@dataclass(frozen=True, slots=True)
class _Kind:
    entity: str
    required: tuple[str, ...]
    optional: tuple[str, ...]


KINDS: dict[str, _Kind] = {
    "tickets": _Kind(
        "ticket_id",
        ("ticket_id", "category", "priority", "municipality", "created_at"),
        ("paused_at", "resumed_at", "resolved_at", "closed_at"),
    ),
    "calls": _Kind(
        "call_id",
        ("call_id", "queue", "municipality", "entered_at", "wait_seconds", "outcome"),
        (),
    ),
    "incidents": _Kind(
        "incident_id",
        ("incident_id", "service", "severity", "impact", "opened_at"),
        ("municipalities", "title", "planned_work", "acknowledged_at", "resolved_at"),
    ),
}


class Column(ValueMap):
    """A CSV column (`Prioritet`, or `{column: Prioritet, map: {...}}`) or a constant."""

    column: str | None = None
    value: Scalar | None = None
    split: str = ","  # between the items of a list field (municipalities)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, v: Any) -> Any:
        return {"column": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _one_source(self) -> Column:
        if (self.column is None) == (self.value is None):
            raise ValueError("give either `column` or `value` (a constant)")
        return self


class MappingSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind
    columns: dict[str, Column]
    key: str | None = None  # the column of the row's key; default the entity id's column
    id_prefix: str | None = None  # default `csv-<kind>`; give each source system its own
    source: str | None = None  # the CloudEvents source; default `/import/csv/<kind>`
    time_format: str = "iso"  # or a strptime format such as "%Y-%m-%d %H:%M"
    timezone: str = "Europe/Stockholm"  # of times that carry no UTC offset
    # A local time in the hour the clocks go back happens twice; which one is meant
    # cannot be known from the file, so by default such a row is refused.
    ambiguous_times: Ambiguous = "reject"
    delimiter: Literal["auto", ",", ";", "\t", "|"] = "auto"
    encoding: str = "utf-8-sig"  # utf-8 with or without the BOM that Excel writes

    @model_validator(mode="after")
    def _check(self) -> MappingSpec:
        kind = KINDS[self.kind]
        if unknown := sorted(set(self.columns) - {*kind.required, *kind.optional}):
            raise ValueError(f"unknown fields for {self.kind}: {', '.join(unknown)}")
        if missing := [f for f in kind.required if f not in self.columns]:
            raise ValueError(f"{self.kind} need columns for: {', '.join(missing)}")
        if self.key is None and self.columns[kind.entity].column is None:
            raise ValueError(f"{kind.entity} is a constant: name the `key` column")
        try:
            ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {self.encoding!r}") from None
        return self

    @property
    def key_column(self) -> str:
        # Never "": _check refuses a constant entity id without a key column.
        return self.key or self.columns[KINDS[self.kind].entity].column or ""

    def used_columns(self) -> list[str]:
        cols = [c.column for c in self.columns.values() if c.column is not None]
        return list(dict.fromkeys([*cols, self.key_column]))


def load_mapping(data: Mapping[str, Any]) -> MappingSpec:
    """The spec from parsed YAML, or MappingError naming the first problem."""
    return load_spec(MappingSpec, data, "(mapping)")


def header_problems(header: Iterable[str], spec: MappingSpec) -> list[RowProblem]:
    have = {h.strip() for h in header}
    return [
        RowProblem(1, c, f"no such column in the header (it has: {', '.join(sorted(have))})")
        for c in spec.used_columns()
        if c not in have
    ]


def rows_to_events(
    rows: Iterable[Row], spec: MappingSpec
) -> tuple[list[dict[str, Any]], list[RowProblem]]:
    """Every row's events, each checked with parse_event, and every problem with its line.

    Any problem means the file is refused whole: send none of the events then.
    """
    events: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        key = (row.get(spec.key_column) or "").strip()
        if key in seen:  # the same key twice would give the same ids: one row would vanish
            problems.append(
                RowProblem(line, spec.key_column, f"{key!r} is also on line {seen[key]}")
            )
            continue
        if key:
            seen[key] = line
        built, bad = _row_events(line, row, key, spec)
        problems.extend(bad)
        for event, time_field in built:
            problems.extend(_check(line, event, time_field, spec))
            events.append(event)
    return events, problems


def _row_events(
    line: int, row: Mapping[str, str], key: str, spec: MappingSpec
) -> tuple[list[Built], list[RowProblem]]:
    if not key:
        return [], [RowProblem(line, spec.key_column, "the key is empty")]
    values, problems = _values(line, row, spec)
    problems = problems or _order(line, values, spec)
    if problems:
        return [], problems
    return _BUILDERS[spec.kind](values, key, spec), []


def _label(name: str, spec: MappingSpec) -> str:
    column = spec.columns[name].column
    return column if column is not None else f"{name} (constant)"


def _values(
    line: int, row: Mapping[str, str], spec: MappingSpec
) -> tuple[dict[str, Any], list[RowProblem]]:
    required = KINDS[spec.kind].required
    values: dict[str, Any] = {}
    problems: list[RowProblem] = []
    for name, col in spec.columns.items():
        raw = row.get(col.column) if col.column is not None else col.value
        try:
            value = col.resolve(raw)
            if value is None and name in required:
                raise ValueError("is empty")
            if value is not None:
                values[name] = _convert(name, value, col, spec)
        except ValueError as exc:
            problems.append(RowProblem(line, _label(name, spec), f"{name}: {exc}"))
    return values, problems


def _convert(name: str, value: object, col: Column, spec: MappingSpec) -> Any:
    text = str(value).strip()
    if name.endswith("_at"):
        return parse_time(text, spec.time_format, ZoneInfo(spec.timezone), spec.ambiguous_times)
    if name in ("priority", "severity"):
        if isinstance(value, int):
            return value
        if not text.isdigit():
            raise ValueError(f"{text!r} is not a whole number")
        return int(text)
    if name == "wait_seconds":
        wait = float(value) if isinstance(value, int | float) else parse_seconds(text)
        # Checked here, not only by the contract: the end time is computed from it first.
        if not (math.isfinite(wait) and 0 <= wait <= 86_400):
            raise ValueError(f"{text!r} is not 0 to 86400 seconds")
        return wait
    if name == "municipalities":
        return [m.strip() for m in text.split(col.split) if m.strip()]
    if name == "outcome" and text not in OUTCOMES:
        raise ValueError(f"{text!r} is not an outcome (one of {', '.join(OUTCOMES)})")
    return text


# Each entity's times must follow its lifecycle; a row against it is an export error.
_ORDER = {
    "tickets": ("created_at", "paused_at", "resumed_at", "resolved_at", "closed_at"),
    "incidents": ("opened_at", "acknowledged_at", "resolved_at"),
    "calls": (),
}


def _order(line: int, values: dict[str, Any], spec: MappingSpec) -> list[RowProblem]:
    if "resumed_at" in values and "paused_at" not in values:
        return [RowProblem(line, _label("resumed_at", spec), "resumed_at without paused_at")]
    before: str | None = None
    for name in (n for n in _ORDER[spec.kind] if n in values):
        if before is not None and values[name] < values[before]:
            message = (
                f"{name} {values[name].isoformat()} is before {before} {values[before].isoformat()}"
            )
            return [RowProblem(line, _label(name, spec), message)]
        before = name
    return []


def _event(
    spec: MappingSpec, key: str, step: str, kind: str, t: datetime, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id(spec.id_prefix or f"csv-{spec.kind}", key, step),
        "source": spec.source or f"/import/csv/{spec.kind}",
        "type": kind,
        "time": t.isoformat(),
        "data": data,
    }


def _tickets(v: dict[str, Any], key: str, spec: MappingSpec) -> list[Built]:
    data = {f: v[f] for f in ("ticket_id", "category", "priority", "municipality")}
    steps = ("created", "paused", "resumed", "resolved", "closed")
    return [
        (_event(spec, key, s, f"ticket.{s}", v[f"{s}_at"], data), f"{s}_at")
        for s in steps
        if f"{s}_at" in v
    ]


def _calls(v: dict[str, Any], key: str, spec: MappingSpec) -> list[Built]:
    data = {f: v[f] for f in ("call_id", "queue", "municipality")}
    outcome, entered, wait = v["outcome"], v["entered_at"], v["wait_seconds"]
    kind = outcome if outcome in ("answered", "abandoned") else "exited"
    end = data | {"wait_seconds": wait} | ({"reason": outcome} if kind == "exited" else {})
    return [
        (_event(spec, key, "queued", "call.queued", entered, data), "entered_at"),
        (_event(spec, key, "end", f"call.{kind}", shift(entered, wait), end), "entered_at"),
    ]


def _incidents(v: dict[str, Any], key: str, spec: MappingSpec) -> list[Built]:
    ref = {"incident_id": v["incident_id"], "service": v["service"]}
    extra = ("severity", "impact", "municipalities", "title", "planned_work")
    opened = ref | {f: v[f] for f in extra if f in v}
    built = [(_event(spec, key, "opened", "incident.opened", v["opened_at"], opened), "opened_at")]
    for step in ("acknowledged", "resolved"):
        if f"{step}_at" in v:
            event = _event(spec, key, step, f"incident.{step}", v[f"{step}_at"], ref)
            built.append((event, f"{step}_at"))
    return built


_BUILDERS = {"tickets": _tickets, "calls": _calls, "incidents": _incidents}


def _check(
    line: int, event: dict[str, Any], time_field: str, spec: MappingSpec
) -> list[RowProblem]:
    try:
        parse_event(event)
    except EventError as exc:
        return [RowProblem(line, _column_of(f, time_field, spec), m) for f, m in exc.problems]
    return []


def _column_of(field: str, time_field: str, spec: MappingSpec) -> str:
    """The CSV column behind a field that parse_event refused."""
    if field in ("id", "subject"):
        return spec.key_column
    name = time_field if field == "time" else field.removeprefix("data.").split(".")[0]
    return _label(name, spec) if name in spec.columns else field
