"""The goal report as Markdown, HTML, JSON or XLSX.

Markdown and HTML are rendered from one list of blocks (headings, paragraphs,
tables), so the two always say the same thing. The goal table has the seed's
columns, one row per indicator, with the council and board goal repeated on
every row so that a row can be read alone; then the roll-up sentence, each
board goal's status, and a summary of the period's major incidents, change
freezes and freeze violations. JSON carries the raw numbers (percent as
fractions) and XLSX real numbers with number formats, so both can be computed on.

Everything comes from the `ReportInput`: no database, no clock. The same input
gives the same bytes, XLSX included (its timestamps are `generated_at`).

This module only picks the renderer; each format lives in its own module
(`blocks` with `markdown` and `html`, `jsondoc`, `xlsx`), sharing `labels` and `rows`.
"""

from __future__ import annotations

from typing import Literal

from services.readmodel.goal_model import ReportInput
from services.report.blocks import document
from services.report.html import render_html
from services.report.jsondoc import render_json
from services.report.labels import LABELS
from services.report.markdown import render_markdown

Lang = Literal["sv", "en"]
Format = Literal["md", "html", "json", "xlsx"]
FORMATS: tuple[str, ...] = ("md", "html", "json", "xlsx")


def render(report: ReportInput, lang: Lang, fmt: Format) -> bytes:
    """The report in `lang` ("sv" or "en") as `fmt` ("md", "html", "json" or "xlsx")."""
    if lang not in LABELS:
        raise ValueError(f"no such language {lang!r}: use sv or en")
    if fmt == "md":
        return render_markdown(document(report, lang), lang).encode()
    if fmt == "html":
        return render_html(document(report, lang), lang).encode()
    if fmt == "json":
        return render_json(report, lang)
    if fmt == "xlsx":
        # openpyxl costs every API and worker start ~0.5 s of imports; most never write XLSX.
        from services.report.xlsx import render_xlsx

        return render_xlsx(report, lang)
    raise ValueError(f"no such format {fmt!r}: use one of {', '.join(FORMATS)}")
