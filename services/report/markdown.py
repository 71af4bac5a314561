"""The report's blocks as Markdown (GitHub tables: numeric columns right-aligned)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from services.report import fmt as show
from services.report.blocks import Block, Cell, Heading, Para, StatusCell

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_WHITESPACE = re.compile(r"\s*[\r\n]+\s*")


def _md_text(text: str) -> str:
    """Text that Markdown shows as written: no markup, no HTML, no line breaks."""
    return _MD_SPECIAL.sub(r"\\\1", _WHITESPACE.sub(" ", text))


def _md_cell(cell: Cell, lang: str) -> str:
    if isinstance(cell, StatusCell):
        return _md_text(show.status_label(cell.status, lang))
    return _md_text(cell)


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
            lines += [
                "| " + " | ".join(_md_cell(c, lang) for c in row) + " |" for row in block.rows
            ]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"
