"""The report's blocks as one self-contained HTML page, styled for screen and A4 print."""

from __future__ import annotations

import html
from collections.abc import Sequence

from services.report import fmt as show
from services.report.blocks import Block, Cell, Heading, Para, SparkCell, StatusCell, Table

_CSS = """
@page { size: A4 landscape; margin: 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10pt;
       line-height: 1.35; color: #000; background: #fff; margin: 24px; }
h1 { font-size: 17pt; margin: 0 0 4px; }
h2 { font-size: 13pt; margin: 20px 0 8px; }
h3 { font-size: 11pt; margin: 16px 0 6px; }
p { margin: 6px 0; }
p.meta { color: #333; margin-bottom: 14px; }
p.rollup { font-weight: bold; margin: 10px 0 14px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #555; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #e6e6e6; font-weight: bold; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
td.num { text-align: right; white-space: nowrap; }
th.num { text-align: right; }
td.status, td.date, p.meta { white-space: nowrap; }
td.group { background: #fafafa; }
td.spark { white-space: nowrap; vertical-align: middle; }
table.trend { width: auto; }
table.boards, table.trend { break-inside: avoid; page-break-inside: avoid; }
p.note { font-size: 8.5pt; margin: -6px 0 10px; }
.mark { display: inline-block; width: 1.2em; font-weight: bold; }
.achieved .mark { color: #1a7f37; }
.not_achieved .mark { color: #b42318; }
.partially .mark { color: #8a5a00; }
table.goals th:nth-child(1), table.goals th:nth-child(2) { width: 18%; }
table.goals th:nth-child(3) { width: 28%; }
@media print {
  body { margin: 0; font-size: 9pt; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  p.meta { color: #000; }
}
""".strip()


_NUM = ' class="num"'


def _h(text: str) -> str:
    return html.escape(text, quote=True)


_SPARK_W, _SPARK_H = 80, 18


def sparkline(values: tuple[float | None, ...], text: str) -> str:
    """An inline SVG line through the values (lowest at the bottom), one x step a month,
    broken where a month has no value; `text` is its alternative for readers and print."""
    known = [v for v in values if v is not None]
    low, high = (min(known), max(known)) if known else (0.0, 0.0)
    step = _SPARK_W / max(1, len(values) - 1)

    def y(v: float) -> float:
        return (_SPARK_H - 2) - ((v - low) / (high - low) if high > low else 0.5) * (_SPARK_H - 4)

    runs: list[list[str]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append(f"{i * step:.1f},{y(v):.1f}")
    shapes = "".join(
        f'<polyline fill="none" stroke="#000" stroke-width="1.5" points="{" ".join(run)}"/>'
        if len(run) > 1
        else f'<circle r="1.5" cx="{run[0].split(",")[0]}" cy="{run[0].split(",")[1]}"/>'
        for run in runs
        if run
    )
    return (
        f'<svg class="spark" role="img" aria-label="{_h(text)}" width="{_SPARK_W}" '
        f'height="{_SPARK_H}" viewBox="-2 0 {_SPARK_W + 4} {_SPARK_H}">'
        f"<title>{_h(text)}</title>{shapes}</svg>"
    )


def _html_cell(cell: Cell, css: str, lang: str, span: int = 1) -> str:
    rowspan = f' rowspan="{span}"' if span > 1 else ""
    if isinstance(cell, SparkCell):
        return f'<td class="spark">{sparkline(cell.values, cell.text)}</td>'
    if isinstance(cell, StatusCell):
        if cell.status is None:
            return f'<td class="status">{_h(show.DASH)}</td>'
        mark = _h(show.status_mark(cell.status))
        word = _h(show.status_word(cell.status, lang))
        on = f" ({_h(show.judged_on(cell.on, lang))})" if cell.on else ""
        return (
            f'<td class="status {_h(cell.status)}">'
            f'<span class="mark" aria-hidden="true">{mark}</span>{word}{on}</td>'
        )
    cls = f' class="{css}"' if css else ""
    return f"<td{cls}{rowspan}>{_h(cell)}</td>"


def _row(block: Table, r: int, lang: str) -> str:
    cells = []
    for i, c in enumerate(block.rows[r]):
        span = block.span(r, i)
        if span == 0:
            continue  # the cell above spans this row
        css = "num" if i in block.numeric else "date" if i in block.nowrap else ""
        if block.groups and i < len(block.groups[r]):
            css = "group"
        cells.append(_html_cell(c, css, lang, span))
    return "<tr>" + "".join(cells) + "</tr>"


def render_html(blocks: Sequence[Block], lang: str) -> str:
    title = next((b.text for b in blocks if isinstance(b, Heading)), "")
    body: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            css = f' class="{_h(block.css)}"' if block.css else ""
            body.append(f"<p{css}>{_h(block.text)}</p>")
        else:
            css = f' class="{_h(block.css)}"' if block.css else ""
            head = "".join(
                f'<th scope="col"{_NUM if i in block.numeric else ""}>{_h(h)}</th>'
                for i, h in enumerate(block.headers)
            )
            rows = "\n".join(_row(block, r, lang) for r in range(len(block.rows)))
            body.append(
                f"<table{css}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
            )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{_h(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_h(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
