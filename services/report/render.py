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
"""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.writer.excel import ExcelWriter  # type: ignore[import-untyped]

from services.core.evaluation import BoardGoalResult, CouncilGoalResult, IndicatorResult
from services.report import fmt as show
from services.report.model import ReportInput

Lang = Literal["sv", "en"]
Format = Literal["md", "html", "json", "xlsx"]
FORMATS: tuple[str, ...] = ("md", "html", "json", "xlsx")

_LABELS: dict[str, dict[str, Any]] = {
    "sv": {
        "title": "Måluppfyllelse {label}",
        "period": "Period {start} \u2013 {end}",
        "generated": "sammanställd {at}",
        "goal_headers": [
            "Kommunfullmäktiges mål",
            "Nämndmål",
            "Indikator",
            "Nuvärde",
            "Prognos",
            "Målvärde",
            "Status",
        ],
        "board_status": "Status per nämndmål",
        "board_headers": ["Kommunfullmäktiges mål", "Nämndmål", "Status"],
        "summary": "Sammanfattning av perioden",
        "incidents": "Större incidenter",
        "incident_headers": [
            "Incident",
            "Tjänst",
            "Rubrik",
            "Allvarlighetsgrad",
            "Öppnad",
            "Löst",
            "Varaktighet",
            "Påverkade e-tjänster",
        ],
        "no_incidents": "Inga större incidenter under perioden.",
        "incident_count": "{n} större {noun} under perioden, sammanlagt {total}.",
        "incident_noun": ("incident", "incidenter"),
        "ongoing": " {n} pågår fortfarande.",
        "freezes": "Förändringsstopp",
        "freeze_headers": ["Förändringsstopp", "Från", "Till", "Omfattning", "Anledning"],
        "no_freezes": "Inga förändringsstopp under perioden.",
        "violations": "Ändringar under förändringsstopp",
        "violation_headers": ["Ändring", "Tjänst", "Genomförd", "Förändringsstopp"],
        "no_violations": "Ingen ändring bröt mot ett förändringsstopp.",
        "sheets": ("Mål", "Incidenter", "Förändringsstopp", "Överträdelser"),
        "minutes_header": "Varaktighet (min)",
    },
    "en": {
        "title": "Goal attainment {label}",
        "period": "Period {start} \u2013 {end}",
        "generated": "generated {at}",
        "goal_headers": [
            "Council goal",
            "Board goal",
            "Indicator",
            "Current",
            "Forecast",
            "Target",
            "Status",
        ],
        "board_status": "Status per board goal",
        "board_headers": ["Council goal", "Board goal", "Status"],
        "summary": "Summary of the period",
        "incidents": "Major incidents",
        "incident_headers": [
            "Incident",
            "Service",
            "Title",
            "Severity",
            "Opened",
            "Resolved",
            "Duration",
            "Affected e-services",
        ],
        "no_incidents": "No major incidents in the period.",
        "incident_count": "{n} major {noun} in the period, {total} in all.",
        "incident_noun": ("incident", "incidents"),
        "ongoing": " {n} still ongoing.",
        "freezes": "Change freezes",
        "freeze_headers": ["Freeze", "From", "To", "Scope", "Reason"],
        "no_freezes": "No change freezes in the period.",
        "violations": "Changes during a change freeze",
        "violation_headers": ["Change", "Service", "Implemented", "Freeze"],
        "no_violations": "No change broke a change freeze.",
        "sheets": ("Goals", "Incidents", "Freezes", "Violations"),
        "minutes_header": "Duration (min)",
    },
}

_GOAL_NUMERIC = frozenset({3, 4, 5})  # nuvärde, prognos, målvärde: right-aligned


def render(report: ReportInput, lang: Lang, fmt: Format) -> bytes:
    """The report in `lang` ("sv" or "en") as `fmt` ("md", "html", "json" or "xlsx")."""
    if lang not in _LABELS:
        raise ValueError(f"no such language {lang!r}: use sv or en")
    if fmt == "md":
        return _markdown(_document(report, lang), lang).encode()
    if fmt == "html":
        return _html(_document(report, lang), lang).encode()
    if fmt == "json":
        return _json(report, lang)
    if fmt == "xlsx":
        return _xlsx(report, lang)
    raise ValueError(f"no such format {fmt!r}: use one of {', '.join(FORMATS)}")


# -- the table's rows --------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    council: CouncilGoalResult
    board: BoardGoalResult
    result: IndicatorResult


def _rows(report: ReportInput) -> Iterator[_Row]:
    for council in report.evaluation.council_goals:
        for board in council.board_goals:
            for result in board.indicators:
                yield _Row(council, board, result)


def _boards(report: ReportInput) -> Iterator[tuple[CouncilGoalResult, BoardGoalResult]]:
    for council in report.evaluation.council_goals:
        for board in council.board_goals:
            yield council, board


# -- blocks shared by Markdown and HTML --------------------------------------------------


@dataclass(frozen=True)
class _Status:
    """A status cell: the renderers show mark and word."""

    status: str | None


_Cell = str | _Status


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Para:
    text: str
    css: str = ""


@dataclass(frozen=True)
class _Table:
    headers: list[str]
    rows: list[list[_Cell]]
    numeric: frozenset[int] = field(default_factory=frozenset)
    css: str = ""


_Block = _Heading | _Para | _Table


def _document(report: ReportInput, lang: str) -> list[_Block]:
    lab = _LABELS[lang]
    blocks: list[_Block] = [
        _Heading(1, lab["title"].format(label=report.period_label)),
        _Para(
            lab["period"].format(start=report.period_from, end=report.period_to)
            + ", "
            + lab["generated"].format(at=show.timestamp(report.generated_at)),
            "meta",
        ),
    ]
    if report.area is not None:
        blocks.append(_Heading(2, report.area.get(lang)))
    goal_rows: list[list[_Cell]] = []
    for row in _rows(report):
        ind = row.result.indicator
        goal_rows.append(
            [
                row.council.goal.title.get(lang),
                row.board.goal.title.get(lang),
                ind.title.get(lang),
                show.value(row.result.current, ind.unit, lang, ind.decimals),
                show.value(row.result.forecast, ind.unit, lang, ind.decimals),
                show.target(ind.target, ind.unit, lang, ind.decimals),
                _Status(row.result.status),
            ]
        )
    blocks.append(_Table(lab["goal_headers"], goal_rows, _GOAL_NUMERIC, "goals"))
    blocks.append(_Para(show.rollup_sentence(report.evaluation, lang), "rollup"))
    blocks.append(_Heading(3, lab["board_status"]))
    blocks.append(
        _Table(
            lab["board_headers"],
            [
                [c.goal.title.get(lang), b.goal.title.get(lang), _Status(b.status)]
                for c, b in _boards(report)
            ],
            css="boards",
        )
    )
    blocks.append(_Heading(2, lab["summary"]))
    blocks.extend(_summary_blocks(report, lang))
    return blocks


def _summary_blocks(report: ReportInput, lang: str) -> list[_Block]:
    lab = _LABELS[lang]
    s = report.summary
    blocks: list[_Block] = [_Heading(3, lab["incidents"])]
    if s.major_incidents:
        n = len(s.major_incidents)
        total = sum(i.duration_minutes or 0.0 for i in s.major_incidents)
        noun = lab["incident_noun"][0 if n == 1 else 1]
        text = lab["incident_count"].format(n=n, noun=noun, total=show.duration(total, lang))
        ongoing = sum(1 for i in s.major_incidents if i.duration_minutes is None)
        if ongoing:
            text += lab["ongoing"].format(n=ongoing)
        blocks.append(_Para(text))
        blocks.append(
            _Table(
                lab["incident_headers"],
                [
                    [
                        i.incident_id,
                        i.service,
                        i.title or show.DASH,
                        show.DASH if i.severity is None else str(i.severity),
                        show.timestamp(i.opened_at),
                        show.timestamp(i.resolved_at),
                        show.duration(i.duration_minutes, lang),
                        ", ".join(i.affected) or show.DASH,
                    ]
                    for i in s.major_incidents
                ],
                frozenset({3, 6}),
            )
        )
    else:
        blocks.append(_Para(lab["no_incidents"]))
    blocks.append(_Heading(3, lab["freezes"]))
    if s.freezes:
        blocks.append(
            _Table(
                lab["freeze_headers"],
                [
                    [
                        f.freeze_id,
                        show.timestamp(f.starts_at),
                        show.timestamp(f.effective_end),
                        show.scope(f.scope, lang),
                        f.reason or show.DASH,
                    ]
                    for f in s.freezes
                ],
            )
        )
    else:
        blocks.append(_Para(lab["no_freezes"]))
    blocks.append(_Heading(3, lab["violations"]))
    if s.violations:
        blocks.append(
            _Table(
                lab["violation_headers"],
                [
                    [v.change_id, v.service, show.timestamp(v.implemented_at), v.freeze_id]
                    for v in s.violations
                ],
            )
        )
    else:
        blocks.append(_Para(lab["no_violations"]))
    return blocks


# -- Markdown ----------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_WHITESPACE = re.compile(r"\s*[\r\n]+\s*")


def _md_text(text: str) -> str:
    """Text that Markdown shows as written: no markup, no HTML, no line breaks."""
    return _MD_SPECIAL.sub(r"\\\1", _WHITESPACE.sub(" ", text))


def _md_cell(cell: _Cell, lang: str) -> str:
    if isinstance(cell, _Status):
        return _md_text(show.status_label(cell.status, lang))
    return _md_text(cell)


def _markdown(blocks: Sequence[_Block], lang: str) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            out.append(f"{'#' * block.level} {_md_text(block.text)}")
        elif isinstance(block, _Para):
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


# -- HTML --------------------------------------------------------------------------------

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
td.status { white-space: nowrap; }
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


def _html_cell(cell: _Cell, numeric: bool, lang: str) -> str:
    if isinstance(cell, _Status):
        if cell.status is None:
            return f'<td class="status">{_h(show.DASH)}</td>'
        mark = _h(show.status_mark(cell.status))
        word = _h(show.status_word(cell.status, lang))
        return (
            f'<td class="status {_h(cell.status)}">'
            f'<span class="mark" aria-hidden="true">{mark}</span>{word}</td>'
        )
    return f'<td class="num">{_h(cell)}</td>' if numeric else f"<td>{_h(cell)}</td>"


def _html(blocks: Sequence[_Block], lang: str) -> str:
    title = next((b.text for b in blocks if isinstance(b, _Heading)), "")
    body: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            body.append(f"<h{block.level}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, _Para):
            css = f' class="{_h(block.css)}"' if block.css else ""
            body.append(f"<p{css}>{_h(block.text)}</p>")
        else:
            css = f' class="{_h(block.css)}"' if block.css else ""
            head = "".join(
                f'<th scope="col"{_NUM if i in block.numeric else ""}>{_h(h)}</th>'
                for i, h in enumerate(block.headers)
            )
            rows = "\n".join(
                "<tr>"
                + "".join(_html_cell(c, i in block.numeric, lang) for i, c in enumerate(row))
                + "</tr>"
                for row in block.rows
            )
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


# -- JSON --------------------------------------------------------------------------------


def _iso(t: datetime | None) -> str | None:
    return None if t is None else show.local(t).isoformat()


def _json(report: ReportInput, lang: str) -> bytes:
    ev = report.evaluation
    s = report.summary
    body = {
        "lang": lang,
        "period": {
            "label": report.period_label,
            "from": report.period_from.isoformat(),
            "to": report.period_to.isoformat(),
        },
        "generated_at": _iso(report.generated_at),
        "area": None if report.area is None else report.area.get(lang),
        "status": ev.status,
        "counts": dict(ev.counts),
        "rollup": show.rollup_sentence(ev, lang),
        "rows": [
            {
                "council_goal": r.council.goal.title.get(lang),
                "board_goal": r.board.goal.title.get(lang),
                "indicator_id": r.result.indicator.id,
                "indicator": r.result.indicator.title.get(lang),
                "unit": r.result.indicator.unit,
                "decimals": r.result.indicator.decimals,
                "current": r.result.current,
                "forecast": r.result.forecast,
                "target": {
                    "rule": r.result.indicator.target.rule,
                    "value": r.result.indicator.target.value,
                },
                "status": r.result.status,
            }
            for r in _rows(report)
        ],
        "board_goals": [
            {
                "council_goal": c.goal.title.get(lang),
                "board_goal": b.goal.title.get(lang),
                "status": b.status,
            }
            for c, b in _boards(report)
        ],
        "council_goals": [
            {"council_goal": c.goal.title.get(lang), "status": c.status} for c in ev.council_goals
        ],
        "summary": {
            "major_incidents": [
                {
                    "incident_id": i.incident_id,
                    "service": i.service,
                    "title": i.title,
                    "severity": i.severity,
                    "opened_at": _iso(i.opened_at),
                    "resolved_at": _iso(i.resolved_at),
                    "duration_minutes": i.duration_minutes,
                    "affected": list(i.affected),
                }
                for i in s.major_incidents
            ],
            "freezes": [
                {
                    "freeze_id": f.freeze_id,
                    "starts_at": _iso(f.starts_at),
                    "effective_end": _iso(f.effective_end),
                    "scope": list(f.scope),
                    "reason": f.reason,
                }
                for f in s.freezes
            ],
            "violations": [
                {
                    "change_id": v.change_id,
                    "service": v.service,
                    "implemented_at": _iso(v.implemented_at),
                    "freeze_id": v.freeze_id,
                }
                for v in s.violations
            ],
        },
    }
    # allow_nan=False: a NaN would be invalid JSON, and a bug upstream rather than a value.
    return (json.dumps(body, ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode()


# -- XLSX --------------------------------------------------------------------------------

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E6E6E6")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_DATETIME = "yyyy-mm-dd hh:mm"


def _quoted(text: str) -> str:
    return f'"{text}"' if text else ""


def xlsx_number_format(unit: str, lang: str, decimals: int, rule: str | None = None) -> str:
    """An Excel number format: `0.00%`, `#,##0 "tkr"`, `"högst "#,##0 "st"`.

    Excel stores formats in its neutral syntax (`,` groups, `.` decimals) and shows
    them with the reader's separators, so `#,##0 "tkr"` reads `-1 412 tkr` in Swedish Excel.
    """
    frac = "." + "0" * decimals if decimals else ""
    prefix = _quoted(show.target_prefix(rule, lang)) if rule else ""
    if unit == "percent":
        return f"{prefix}0{frac}%"
    suffix = show.unit_suffix(unit, lang)
    return f"{prefix}#,##0{frac}" + (f' "{suffix}"' if suffix else "")


def _put_value(
    cell: Any,
    v: float | bool | None,
    unit: str,
    lang: str,
    decimals: int | None,
    rule: str | None = None,
) -> None:
    if v is None:
        return
    if isinstance(v, bool) or unit == "yesno":
        # Text, as in the table: "Ja". A yes/no target's rule is always `equals` (no prefix).
        cell.value = show.yes_no(bool(v), lang)
        cell.alignment = Alignment(horizontal="right", vertical="top")
        return
    x = float(v)
    shown = show.needed_decimals(x * 100 if unit == "percent" else x, decimals)
    cell.value = x
    cell.number_format = xlsx_number_format(unit, lang, shown, rule)
    cell.alignment = _TOP


def _header(ws: Any, row: int, headers: Sequence[str]) -> None:
    for col, text in enumerate(headers, start=1):
        c = ws.cell(row=row, column=col, value=text)
        c.font = _HEADER_FONT
        c.fill = _HEADER_FILL
        c.border = _BORDER
        c.alignment = Alignment(wrap_text=True, vertical="center")


def _widths(ws: Any, widths: Sequence[float]) -> None:
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def _local_naive(t: datetime | None) -> datetime | None:
    # Excel has no time zones: Stockholm wall-clock time, as in the other formats.
    return None if t is None else show.local(t).replace(tzinfo=None)


def _goals_sheet(ws: Any, report: ReportInput, lang: str) -> None:
    lab = _LABELS[lang]
    ws.cell(row=1, column=1, value=lab["title"].format(label=report.period_label)).font = Font(
        bold=True, size=14
    )
    ws.cell(
        row=2,
        column=1,
        value=lab["period"].format(start=report.period_from, end=report.period_to),
    )
    if report.area is not None:
        ws.cell(row=3, column=1, value=report.area.get(lang)).font = Font(bold=True)
    ws.cell(row=4, column=1, value=show.rollup_sentence(report.evaluation, lang))
    head = 6
    _header(ws, head, lab["goal_headers"])
    row = head
    for r in _rows(report):
        row += 1
        ind = r.result.indicator
        for col, text in enumerate(
            (r.council.goal.title.get(lang), r.board.goal.title.get(lang), ind.title.get(lang)),
            start=1,
        ):
            ws.cell(row=row, column=col, value=text).alignment = _WRAP
        _put_value(ws.cell(row=row, column=4), r.result.current, ind.unit, lang, ind.decimals)
        _put_value(ws.cell(row=row, column=5), r.result.forecast, ind.unit, lang, ind.decimals)
        _put_value(
            ws.cell(row=row, column=6),
            ind.target.value,
            ind.unit,
            lang,
            ind.decimals,
            ind.target.rule if ind.target.show_rule else None,
        )
        ws.cell(row=row, column=7, value=show.status_label(r.result.status, lang)).alignment = _TOP
        for col in range(1, 8):
            ws.cell(row=row, column=col).border = _BORDER
    ws.freeze_panes = ws.cell(row=head + 1, column=1)
    ws.auto_filter.ref = f"A{head}:G{row}"
    row += 2
    ws.cell(row=row, column=1, value=lab["board_status"]).font = Font(bold=True)
    row += 1
    _header(ws, row, lab["board_headers"])
    for c, b in _boards(report):
        row += 1
        ws.cell(row=row, column=1, value=c.goal.title.get(lang)).alignment = _WRAP
        ws.cell(row=row, column=2, value=b.goal.title.get(lang)).alignment = _WRAP
        ws.cell(row=row, column=3, value=show.status_label(b.status, lang)).alignment = _TOP
        for col in range(1, 4):
            ws.cell(row=row, column=col).border = _BORDER
    _widths(ws, (38, 34, 48, 14, 14, 18, 20))


def _table_sheet(
    ws: Any,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: dict[int, str],
    widths: Sequence[float],
) -> None:
    _header(ws, 1, headers)
    for r, values in enumerate(rows, start=2):
        for col, v in enumerate(values, start=1):
            cell = ws.cell(row=r, column=col, value=v)
            cell.border = _BORDER
            cell.alignment = _WRAP
            if col in formats and v is not None:
                cell.number_format = formats[col]
    ws.freeze_panes = "A2"
    _widths(ws, widths)


def _xlsx(report: ReportInput, lang: str) -> bytes:
    lab = _LABELS[lang]
    s = report.summary
    wb = Workbook()
    goals = wb.active
    goals.title = lab["sheets"][0]
    _goals_sheet(goals, report, lang)

    incident_headers = list(lab["incident_headers"])
    incident_headers[6] = lab["minutes_header"]
    _table_sheet(
        wb.create_sheet(lab["sheets"][1]),
        incident_headers,
        [
            [
                i.incident_id,
                i.service,
                i.title,
                i.severity,
                _local_naive(i.opened_at),
                _local_naive(i.resolved_at),
                i.duration_minutes,
                ", ".join(i.affected),
            ]
            for i in s.major_incidents
        ],
        {5: _DATETIME, 6: _DATETIME, 7: "#,##0"},
        (16, 18, 40, 10, 17, 17, 12, 40),
    )
    _table_sheet(
        wb.create_sheet(lab["sheets"][2]),
        lab["freeze_headers"],
        [
            [
                f.freeze_id,
                _local_naive(f.starts_at),
                _local_naive(f.effective_end),
                show.scope(f.scope, lang),
                f.reason,
            ]
            for f in s.freezes
        ],
        {2: _DATETIME, 3: _DATETIME},
        (20, 17, 17, 40, 48),
    )
    _table_sheet(
        wb.create_sheet(lab["sheets"][3]),
        lab["violation_headers"],
        [
            [v.change_id, v.service, _local_naive(v.implemented_at), v.freeze_id]
            for v in s.violations
        ],
        {3: _DATETIME},
        (20, 18, 17, 20),
    )

    stamp = report.generated_at.astimezone(UTC).replace(tzinfo=None)
    wb.properties.creator = "opstrack"
    wb.properties.title = lab["title"].format(label=report.period_label)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    buf = io.BytesIO()
    # ExcelWriter rather than wb.save, which would stamp `modified` with the clock.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    return _fixed_zip_times(buf.getvalue(), show.local(report.generated_at))


def _fixed_zip_times(data: bytes, at: datetime) -> bytes:
    """The archive again with every member dated `at`, so equal input gives equal bytes."""
    when = (max(at.year, 1980), at.month, at.day, at.hour, at.minute, at.second)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=when)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = info.external_attr
            dst.writestr(member, src.read(info.filename))
    return out.getvalue()
