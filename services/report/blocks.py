"""The Markdown and HTML report as one list of blocks: headings, paragraphs, tables.

Both renderers walk this one list, so the two formats always say the same thing.
The text is already formatted for the language; a status stays a `StatusCell`
because each format shows its mark and word its own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.report import fmt as show
from services.report.labels import LABELS
from services.report.model import ReportInput
from services.report.rows import board_rows, indicator_rows

_GOAL_NUMERIC = frozenset({3, 4, 5})  # nuvärde, prognos, målvärde: right-aligned


@dataclass(frozen=True)
class StatusCell:
    """A status cell: the renderers show mark and word."""

    status: str | None


Cell = str | StatusCell


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str
    css: str = ""


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[Cell]]
    numeric: frozenset[int] = field(default_factory=frozenset)
    css: str = ""


Block = Heading | Para | Table


def document(report: ReportInput, lang: str) -> list[Block]:
    lab = LABELS[lang]
    blocks: list[Block] = [
        Heading(1, lab["title"].format(label=report.period_label)),
        Para(
            lab["period"].format(start=report.period_from, end=report.period_to)
            + ", "
            + lab["generated"].format(at=show.timestamp(report.generated_at)),
            "meta",
        ),
    ]
    if report.area is not None:
        blocks.append(Heading(2, report.area.get(lang)))
    goal_rows: list[list[Cell]] = []
    for row in indicator_rows(report):
        ind = row.result.indicator
        goal_rows.append(
            [
                row.council.goal.title.get(lang),
                row.board.goal.title.get(lang),
                ind.title.get(lang),
                show.value(row.result.current, ind.unit, lang, ind.decimals),
                show.value(row.result.forecast, ind.unit, lang, ind.decimals),
                show.target(ind.target, ind.unit, lang, ind.decimals),
                StatusCell(row.result.status),
            ]
        )
    blocks.append(Table(lab["goal_headers"], goal_rows, _GOAL_NUMERIC, "goals"))
    blocks.append(Para(show.rollup_sentence(report.evaluation, lang), "rollup"))
    blocks.append(Heading(3, lab["board_status"]))
    blocks.append(
        Table(
            lab["board_headers"],
            [
                [c.goal.title.get(lang), b.goal.title.get(lang), StatusCell(b.status)]
                for c, b in board_rows(report)
            ],
            css="boards",
        )
    )
    blocks.append(Heading(2, lab["summary"]))
    blocks.extend(_summary_blocks(report, lang))
    return blocks


def _summary_blocks(report: ReportInput, lang: str) -> list[Block]:
    lab = LABELS[lang]
    s = report.summary
    blocks: list[Block] = [Heading(3, lab["incidents"])]
    if s.major_incidents:
        n = len(s.major_incidents)
        total = sum(i.duration_minutes or 0.0 for i in s.major_incidents)
        noun = lab["incident_noun"][0 if n == 1 else 1]
        text = lab["incident_count"].format(n=n, noun=noun, total=show.duration(total, lang))
        ongoing = sum(1 for i in s.major_incidents if i.duration_minutes is None)
        if ongoing:
            text += lab["ongoing"].format(n=ongoing)
        blocks.append(Para(text))
        blocks.append(
            Table(
                lab["incident_headers"],
                [
                    [
                        i.incident_id,
                        i.shown(i.service, lang),
                        i.title or show.DASH,
                        show.DASH if i.severity is None else str(i.severity),
                        show.timestamp(i.opened_at),
                        show.timestamp(i.resolved_at),
                        show.duration(i.duration_minutes, lang),
                        ", ".join(i.shown(a, lang) for a in i.affected) or show.DASH,
                    ]
                    for i in s.major_incidents
                ],
                frozenset({3, 6}),
            )
        )
    else:
        blocks.append(Para(lab["no_incidents"]))
    blocks.append(Heading(3, lab["freezes"]))
    if s.freezes:
        blocks.append(
            Table(
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
        blocks.append(Para(lab["no_freezes"]))
    blocks.append(Heading(3, lab["violations"]))
    if s.violations:
        blocks.append(
            Table(
                lab["violation_headers"],
                [
                    [v.change_id, v.service, show.timestamp(v.implemented_at), v.freeze_id]
                    for v in s.violations
                ],
            )
        )
    else:
        blocks.append(Para(lab["no_violations"]))
    return blocks
