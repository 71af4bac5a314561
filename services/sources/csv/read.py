"""Reading a CSV export with its mapping spec into checked events, for `opstrack import csv`.

All or nothing per file: every row is read and every event checked with parse_event
(in `services.sources.csv.mapping`) before anything is sent, and any problem stops the
import with a list of the bad lines.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from services.client import ClientError
from services.sources.csv.mapping import (
    MappingSpec,
    Row,
    RowProblem,
    header_problems,
    load_mapping,
    rows_to_events,
)
from services.sources.mapping import MappingError

MOST_SHOWN = 50  # problems listed; the rest are counted


def load_spec(path: Path) -> MappingSpec:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return load_mapping(data)
    except FileNotFoundError:
        raise ClientError(f"no such mapping file: {path}") from None
    except (yaml.YAMLError, MappingError) as exc:
        raise ClientError(f"{path}: {exc}") from None


def sniff_delimiter(header_line: str) -> str:
    # Swedish Excel writes ';' (the decimal separator is ','), most other tools ','.
    # Counted on the header line only: csv.Sniffer guesses from the data, and fails
    # on files whose rows are mostly quoted or have a single column.
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_rows(text: str, spec: MappingSpec) -> tuple[list[Row], list[RowProblem]]:
    """The data rows with the line each starts on, and the problems of the file's shape."""
    first_line = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first_line) if spec.delimiter == "auto" else spec.delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in next(reader, [])]
    problems = header_problems(header, spec)
    rows: list[Row] = []
    start = reader.line_num + 1
    for cells in reader:
        # line_num counts physical lines, so a quoted cell with newlines is accounted for.
        line, start = start, reader.line_num + 1
        if not cells or not any(c.strip() for c in cells):
            continue  # blank lines, and Excel's rows of empty cells
        if len(cells) != len(header):
            message = f"{len(cells)} fields where the header has {len(header)}"
            problems.append(RowProblem(line, "(row)", f"{message} (delimiter {delimiter!r})"))
            continue
        rows.append((line, dict(zip(header, cells, strict=True))))
    return rows, problems


def prepare(file: Path, spec: MappingSpec) -> tuple[int, list[dict[str, Any]]]:
    """(rows, events) of a CSV file; ClientError listing every bad line if any."""
    try:
        text = file.read_bytes().decode(spec.encoding)
    except FileNotFoundError:
        raise ClientError(f"no such file: {file}") from None
    except UnicodeDecodeError as exc:
        raise ClientError(
            f"{file}: not {spec.encoding} text ({exc.reason} at byte {exc.start}); "
            "set `encoding:` in the mapping (e.g. cp1252 for older Excel exports)"
        ) from None
    rows, problems = read_rows(text, spec)
    events: list[dict[str, Any]] = []
    if not any(p.line == 1 for p in problems):  # with a column missing, every row would say so
        events, bad = rows_to_events(rows, spec)
        problems = sorted([*problems, *bad], key=lambda p: p.line)
    if problems:
        raise ClientError(describe(problems))
    return len(rows), events


def describe(problems: list[RowProblem]) -> str:
    shown = [f"line {p.line}: {p.column}: {p.message}" for p in problems[:MOST_SHOWN]]
    if len(problems) > MOST_SHOWN:
        shown.append(f"… and {len(problems) - MOST_SHOWN} more")
    lines = len({p.line for p in problems})
    head = f"{len(problems)} problem(s) on {lines} line(s); nothing was sent:"
    return "\n".join([head, *shown])
