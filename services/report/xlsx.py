"""The report as an XLSX workbook: real numbers with Excel number formats, one sheet a table.

Byte for byte the same for the same input: every timestamp in it is `generated_at`.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from services.readmodel.goal_model import ReportInput
from services.report import fmt as show
from services.report.blocks import staffing_lines, title
from services.report.labels import LABELS
from services.report.rows import board_indices, board_rows, indicator_rows

_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="E6E6E6")
_WRAP = Alignment(wrap_text=True, vertical="top")
_TOP = Alignment(vertical="top")
_DATETIME = "yyyy-mm-dd hh:mm"


# OWASP's CSV-injection triggers: a text starting with one of these is a formula to Excel
# or LibreOffice when typed, pasted or re-saved as CSV.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _put(ws: Any, row: int, column: int, value: Any) -> Any:
    """Cell (row, column) holding `value`; text is always a text cell, never a formula.

    openpyxl turns any string starting with `=` into a formula; forcing the data type
    writes it as a string. quotePrefix marks it as text for Excel too, so editing the
    cell later does not evaluate it either. Numbers and dates keep their types.
    """
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        # Control characters XML cannot hold would make openpyxl refuse the whole report.
        cell.value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        cell.data_type = "s"
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


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
        cell.value = show.yes_no(bool(v), lang)  # our own word: never a formula
        cell.alignment = Alignment(horizontal="right", vertical="top")
        return
    x = float(v)
    shown = show.needed_decimals(x * 100 if unit == "percent" else x, decimals)
    cell.value = x
    cell.number_format = xlsx_number_format(unit, lang, shown, rule)
    cell.alignment = _TOP


def _header(ws: Any, row: int, headers: Sequence[str]) -> None:
    for col, text in enumerate(headers, start=1):
        c = _put(ws, row, col, text)
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
    lab = LABELS[lang]
    _put(ws, 1, 1, title(report, lang)).font = Font(bold=True, size=14)
    _put(ws, 2, 1, lab["period"].format(start=report.period_from, end=report.period_to))
    if report.area is not None:
        _put(ws, 3, 1, report.area.get(lang)).font = Font(bold=True)
    _put(ws, 4, 1, show.rollup_sentence(report.evaluation, lang))
    _put(ws, 5, 1, lab["judged_note"][report.judged_on])
    head = 6
    _header(ws, head, lab["goal_headers"])
    row = head
    groups: list[tuple[int, int, int]] = []  # (first row, council, board goal) per row
    for r in indicator_rows(report):
        row += 1
        groups.append((row, r.council_index, r.board_index))
        ind = r.result.indicator
        for col, text in enumerate(
            (r.council.goal.title.get(lang), r.board.goal.title.get(lang), ind.title.get(lang)),
            start=1,
        ):
            _put(ws, row, col, text).alignment = _WRAP
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
        _put(
            ws, row, 7, show.status_label(r.result.status, lang, report.judged_on)
        ).alignment = _TOP
        for col in range(1, 8):
            ws.cell(row=row, column=col).border = _BORDER
    _merge_groups(ws, groups, 1, lambda g: g[1:2])
    _merge_groups(ws, groups, 2, lambda g: g[1:3])
    ws.freeze_panes = ws.cell(row=head + 1, column=1)
    ws.auto_filter.ref = f"A{head}:G{row}"
    for line in staffing_lines(report, lang):
        row += 1
        _put(ws, row, 1, line)
    row += 2
    _put(ws, row, 1, lab["board_status"]).font = Font(bold=True)
    row += 1
    _header(ws, row, lab["board_headers"])
    board_groups: list[tuple[int, int, int]] = []
    for (c, b), (ci, bi) in zip(board_rows(report), board_indices(report), strict=True):
        row += 1
        board_groups.append((row, ci, bi))
        _put(ws, row, 1, c.goal.title.get(lang)).alignment = _WRAP
        _put(ws, row, 2, b.goal.title.get(lang)).alignment = _WRAP
        _put(ws, row, 3, show.status_label(b.status, lang, report.judged_on)).alignment = _TOP
        for col in range(1, 4):
            ws.cell(row=row, column=col).border = _BORDER
    _merge_groups(ws, board_groups, 1, lambda g: g[1:2])
    _widths(ws, (38, 34, 48, 14, 14, 18, 20))


def _merge_groups(
    ws: Any,
    rows: Sequence[tuple[int, int, int]],
    column: int,
    key: Callable[[tuple[int, int, int]], tuple[int, ...]],
) -> None:
    """Merge `column` over consecutive rows of one goal: the goal is written once.

    The merged cell keeps the first row's text (openpyxl empties the others).
    """
    i = 0
    while i < len(rows):
        j = i
        while j + 1 < len(rows) and key(rows[j + 1]) == key(rows[i]):
            j += 1
        if j > i:
            ws.merge_cells(
                start_row=rows[i][0], start_column=column, end_row=rows[j][0], end_column=column
            )
        i = j + 1


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
            cell = _put(ws, r, col, v)
            cell.border = _BORDER
            cell.alignment = _WRAP
            if col in formats and v is not None:
                cell.number_format = formats[col]
    ws.freeze_panes = "A2"
    _widths(ws, widths)


def _trend_sheet(ws: Any, report: ReportInput, lang: str) -> None:
    """Month by month: each stream-fed indicator's months as numbers in its unit's format."""
    months = sorted({m for values in report.trends.values() for m, _ in values})
    _header(ws, 1, [LABELS[lang]["goal_headers"][2], *(show.month_short(m, lang) for m in months)])
    row = 1
    for r in indicator_rows(report):
        ind = r.result.indicator
        by_month = dict(report.trends.get(ind.id, []))
        if not by_month:
            continue
        row += 1
        _put(ws, row, 1, ind.title.get(lang)).alignment = _WRAP
        for col, m in enumerate(months, start=2):
            _put_value(ws.cell(row=row, column=col), by_month.get(m), ind.unit, lang, ind.decimals)
        for col in range(1, len(months) + 2):
            ws.cell(row=row, column=col).border = _BORDER
    _put(ws, row + 2, 1, LABELS[lang]["trend_note"])
    ws.freeze_panes = "B2"
    _widths(ws, (48, *(12 for _ in months)))


def render_xlsx(report: ReportInput, lang: str) -> bytes:
    lab = LABELS[lang]
    s = report.summary
    wb = Workbook()
    goals = wb.worksheets[0]  # a new workbook holds one sheet; `active` is typed Optional
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
                i.shown(i.service, lang),
                i.title,
                i.severity,
                _local_naive(i.opened_at),
                _local_naive(i.resolved_at),
                i.duration_minutes,
                ", ".join(i.shown(a, lang) for a in i.affected),
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
                show.scope([s.shown(x, lang) for x in f.scope], lang),
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
            [v.change_id, s.shown(v.service, lang), _local_naive(v.implemented_at), v.freeze_id]
            for v in s.violations
        ],
        {3: _DATETIME},
        (20, 18, 17, 20),
    )
    if any(report.trends.values()):
        _trend_sheet(wb.create_sheet(lab["trend"]), report, lang)

    stamp = report.generated_at.astimezone(UTC).replace(tzinfo=None)
    wb.properties.creator = "opstrack"
    wb.properties.title = title(report, lang)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    buf = io.BytesIO()
    # ExcelWriter rather than wb.save, which would stamp `modified` with the clock.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    return _fixed_zip_times(buf.getvalue(), show.local(report.generated_at))


def _keep_carriage_returns(name: str, data: bytes) -> bytes:
    """A sheet's XML with each raw CR in text written as `&#13;`.

    The XML serializer writes a CR in text as is, and every XML reader turns it into a
    LF, so "\\r=1" would read back as "\\n=1". Attribute values come out escaped
    already, so a raw CR in a sheet is always inside a cell's text.
    """
    if name.startswith("xl/worksheets/") and name.endswith(".xml"):
        return data.replace(b"\r", b"&#13;")
    return data


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
            dst.writestr(member, _keep_carriage_returns(info.filename, src.read(info.filename)))
    return out.getvalue()
