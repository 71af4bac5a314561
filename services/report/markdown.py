"""The report's blocks as Markdown (GitHub tables: numeric columns right-aligned)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.report import fmt as show
from services.report.blocks import Block, Cell, Heading, Para, SparkCell, StatusCell, Table

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_WHITESPACE = re.compile(r"\s*[\r\n]+\s*")


def _md_text(text: str) -> str:
    """Text that Markdown shows as written: no markup, no HTML, no line breaks."""
    return _MD_SPECIAL.sub(r"\\\1", _WHITESPACE.sub(" ", text))


_BARS = "▁▂▃▄▅▆▇█"


def spark_text(values: tuple[float | None, ...]) -> str:
    """A line of block characters, lowest value ▁, highest █ (all alike: the middle);
    a month with no value is a middle dot."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    top = len(_BARS) - 1

    def bar(v: float | None) -> str:
        if v is None:
            return "·"
        return _BARS[3] if high == low else _BARS[round((v - low) / (high - low) * top)]

    return "".join(bar(v) for v in values)


def _md_cell(cell: Cell, lang: str) -> str:
    if isinstance(cell, SparkCell):
        return spark_text(cell.values)
    if isinstance(cell, StatusCell):
        return _md_text(show.status_label(cell.status, lang, cell.on))
    return _md_text(cell)


def _md_row(block: Table, r: int, lang: str) -> str:
    # Markdown has no spanning cells: a goal is written on its first row only.
    cells = [
        "" if block.span(r, i) == 0 else _md_cell(c, lang) for i, c in enumerate(block.rows[r])
    ]
    return "| " + " | ".join(cells) + " |"


def render_markdown(blocks: Sequence[Block], lang: str) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {_md_text(block.text)}")
        elif isinstance(block, Para):
            out.append(_md_text(block.text))
        else:
            lines = [
                "| " + " | ".join(_md_text(h) for h in block.headers) + " |",
                "|"
                + "|".join(
                    "---:" if i in block.numeric else "---" for i in range(len(block.headers))
                )
                + "|",
            ]
            lines += [_md_row(block, r, lang) for r in range(len(block.rows))]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"
