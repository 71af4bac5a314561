"""Rich tables for the CLI, laid out to fit the terminal without cutting a value.

A table is shown as wide as it is when that fits; else with short headers and a
legend under it; else, when even that is too wide, vertically: one block per row,
a figure and its value per line. `wide=True` forces the full table (for a wide
terminal, a pager or a file). No layout shortens, wraps or ellipsises a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich import box
from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.segment import Segments
from rich.table import Table
from rich.text import Text

_GROUP_KEYS = ("bucket_start", "queue", "municipality")
_LABEL_KEYS = (*_GROUP_KEYS, "service", "category", "severity", "priority")

# Short headers of the SLI figures (the legend spells them out). Keys not listed here
# get their words' initials.
_SHORT = {
    "bucket start": "from",
    "municipality": "munic.",
    "offered": "off.",
    "answered": "ans.",
    "abandoned": "aband.",
    "short ab.": "short",
    "exited": "exit.",
    "abandon rate": "ab.",
    "avg wait": "wait",
    "created": "new",
    "resolved": "res.",
    "handling time hours mean": "h mean",
    "handling time hours median": "h med.",
    "handling time hours p90": "h p90",
    "business handling time hours mean": "bh mean",
    "business handling time hours median": "bh med.",
    "business handling time hours p90": "bh p90",
    "opened": "open.",
    "mtta minutes": "MTTA",
    "mttr minutes": "MTTR",
    "downtime minutes": "down",
    "own downtime minutes": "own",
    "inherited downtime minutes": "inh.",
    "downtime via": "via",
    "availability": "avail.",
    "implemented": "impl.",
    "violations": "viol.",
    "emergency exceptions": "emerg.",
    "incidents during freeze": "in frz",
    "incidents from planned work": "planned",
    "severity": "sev.",
    "priority": "prio",
    "category": "categ.",
}


@dataclass(frozen=True)
class Column:
    header: str
    numeric: bool = False
    short: str | None = None  # None: `_SHORT`, else the header's initials
    unit: str | None = None  # the values' unit suffix (" %", " s"), moved to the short header
    meaning: str | None = None  # the legend's words for the short header; else the header
    label: bool | None = None  # names the row (a vertical block's heading); default: not numeric

    def is_label(self) -> bool:
        return not self.numeric if self.label is None else self.label

    def bare(self, cell: str) -> str:
        """The cell without its unit, for the short header that carries it."""
        suffix = f" {self.unit}"
        return cell.removesuffix(suffix) if self.unit and cell.endswith(suffix) else cell

    def short_header(self) -> str:
        if self.short is not None:
            return self.short
        if self.header in _SHORT:
            return _SHORT[self.header]
        words = self.header.split()
        return self.header if len(words) == 1 else "".join(w[0] for w in words)


def fit(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int,
    title: str | None = None,
    wide: bool = False,
) -> RenderableType:
    """The table in the first layout that fits `width` (see the module's docstring)."""
    full = _table(columns, rows, title, short=False)
    if wide or _width(full) <= width:
        return full
    short = _table(columns, rows, title, short=True)
    if _width(short) <= width:
        legend = [
            Text(f"{c.short_header()} = {c.meaning or c.header}", style="dim")
            for c in columns
            if c.short_header() != c.header or c.meaning
        ]
        # Laid out as columns, so that no entry is broken over two lines.
        return Group(short, Columns(legend, padding=(0, 3))) if legend else short
    return _vertical(columns, rows, title)


def show(console: Console, renderable: RenderableType, wide: bool = False) -> None:
    """Print it; with `wide`, as wide as it is, past the console's width (no cropping)."""
    if not wide:
        console.print(renderable)
        return
    # Console.print never goes past the console's width: render the lines at the
    # table's own width, then print them as they are.
    options = console.options.update_width(max(console.width, _width(renderable)))
    for line in console.render_lines(renderable, options, pad=False):
        console.print(Segments(line), crop=False, soft_wrap=True)


def _width(renderable: RenderableType) -> int:
    """The columns the renderable takes when nothing has to be wrapped."""
    console = Console(width=100_000)
    return Measurement.get(console, console.options, renderable).maximum


def _table(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], title: str | None, short: bool
) -> Table:
    if short:  # no outer border and no rules between columns: 3 columns less per column
        table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    else:
        table = Table(title=title)
    for c in columns:
        header = c.header
        if short:
            header = c.short_header() + (f"\n{c.unit}" if c.unit else "")
        table.add_column(
            header,
            justify="right" if c.numeric else "left",
            no_wrap=True,  # a value is never broken: the layout changes instead
        )
    for r in rows:
        table.add_row(*(c.bare(v) for c, v in zip(columns, r, strict=True)) if short else r)
    return table


def _vertical(
    columns: Sequence[Column], rows: Sequence[Sequence[str]], title: str | None
) -> RenderableType:
    """One block per row, side by side as the width allows: the row's labels (queue,
    day, service …) in bold, one to a line, then each figure and its value."""
    labels = [i for i, c in enumerate(columns) if c.is_label()]
    figures = [i for i, c in enumerate(columns) if not c.is_label()]
    blocks = []
    for r in rows:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(
            justify="right" if any(columns[i].numeric for i in figures) else "left", no_wrap=True
        )
        for i in labels:
            # A bare number (priority 3, severity 1) says nothing without its name.
            label = f"{columns[i].header} {r[i]}" if r[i].isdigit() else r[i]
            grid.add_row(Text(label, style="bold"), "")
        for i in figures:
            grid.add_row(columns[i].header, r[i])
        blocks.append(grid)
    parts: list[RenderableType] = [Text(title, style="italic")] if title else []
    return Group(*parts, Columns(blocks, padding=(1, 4)))


def _title(name: str, period: dict[str, Any]) -> str:
    return f"{name}, {period['label']} ({period['from']} to {period['to']})"


def _pct(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v * 100:.{digits}f} %"


def _secs(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f} s"


def _label(key: str, v: Any) -> str:
    """A group key's value; an hour or day as local time with its offset, to the minute."""
    if key == "bucket_start" and isinstance(v, str):
        try:
            return datetime.fromisoformat(v).strftime("%Y-%m-%d %H:%M%z")
        except ValueError:
            return v
    return _cell(v)


def calls_table(body: dict[str, Any], width: int = 80, wide: bool = False) -> RenderableType:
    rows = body["rows"]
    keys = [k for k in _GROUP_KEYS if any(k in r for r in rows)]
    thresholds = list(rows[0]["service_level"]) if rows else []
    columns = [Column(k.replace("_", " ")) for k in keys]
    columns += [Column(name, numeric=True) for name in ("offered", "answered", "abandoned")]
    columns += [Column("short ab.", numeric=True, meaning="short abandons")]
    columns += [Column("exited", numeric=True)]
    columns += [
        Column(f"≤{t} s", numeric=True, short=f"≤{t}", unit="%", meaning=f"answered within {t} s")
        for t in thresholds
    ]
    columns += [
        Column("abandon rate", numeric=True, unit="%"),
        Column("ASA", numeric=True, unit="s"),
        Column("avg wait", numeric=True, unit="s"),
        Column("AHT", numeric=True, unit="s", meaning="average handle time (talk)"),
    ]
    cells = [
        [
            *[_label(k, r.get(k, "")) for k in keys],
            *[str(r[k]) for k in ("offered", "answered", "abandoned", "short_abandoned", "exited")],
            *[_pct(r["service_level"][t]) for t in thresholds],
            _pct(r["abandon_rate"]),
            _secs(r["asa_seconds"]),
            _secs(r["avg_wait_seconds"]),
            _secs(r["aht_seconds"]),
        ]
        for r in rows
    ]
    return fit(columns, cells, width, _title("Calls", body["period"]), wide)


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, list):
        return ", ".join(map(str, v)) or "-"
    return str(v)


def rows_table(
    title: str,
    body: dict[str, Any],
    percent: tuple[str, ...] = (),
    width: int = 80,
    wide: bool = False,
) -> RenderableType:
    """Any SLI response as a table; nested figures ({"mean", "median", "p90"}) get a column each."""
    rows = body["rows"]
    keys: list[tuple[str, str | None]] = []
    for key, value in (rows[0] if rows else {}).items():
        if isinstance(value, dict):
            keys += [(key, sub) for sub in value]
        else:
            keys.append((key, None))
    columns = [
        Column(
            key.replace("_", " ") + (f" {sub}" if sub else ""),
            numeric=key not in _LABEL_KEYS,
            unit="%" if key in percent else None,
        )
        for key, sub in keys
    ]
    cells = []
    for r in rows:
        line = []
        for key, sub in keys:
            v = r[key][sub] if sub else r[key]
            # Availability lives in the last decimals: 99.95 % is not 100 %.
            line.append(_pct(v, 3) if key in percent else _label(key, v))
        cells.append(line)
    return fit(columns, cells, width, _title(title, body["period"]), wide)


TOKEN_HEADERS = ("id", "source", "scopes", "event sources", "rate", "created (UTC)", "last used")


def tokens_table(
    cells: Sequence[Sequence[str]], width: int = 80, wide: bool = False
) -> RenderableType:
    """`opstrack token list`: one row per token, cells in the order of TOKEN_HEADERS."""
    # The id is what `token revoke` takes; like every value, never broken.
    short = {"event sources": "ev. sources", "created (UTC)": "created", "last used": "used"}
    columns = [Column("id", label=True)] + [
        Column(h, label=False, short=short.get(h, h)) for h in TOKEN_HEADERS[1:]
    ]
    return fit(columns, cells, width, wide=wide)
