"""The Markdown and HTML report as one list of blocks: headings, paragraphs, tables.

Both renderers walk this one list, so the two formats always say the same thing.
The text is already formatted for the language; a status stays a `StatusCell`
because each format shows its mark and word its own way.

A table's `groups` give each row its place in the goal tree (council, board goal):
a leading column whose group is the same as the row above's is one cell spanning
those rows (HTML rowspan, a blank in Markdown). `nowrap` columns hold dates and
times, which must not break at their hyphens or space.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.readmodel.goal_model import ReportInput, Summary
from services.report import fmt as show
from services.report.labels import LABELS
from services.report.rows import board_indices, board_rows, indicator_rows

_GOAL_NUMERIC = frozenset({3, 4, 5})  # nuvärde, prognos, målvärde: right-aligned


@dataclass(frozen=True)
class StatusCell:
    """A status cell: the renderers show mark and word."""

    status: str | None
    on: str | None = None  # what it was judged on ("forecast", "current"), shown after the word


@dataclass(frozen=True)
class SparkCell:
    """A small trend line of month values, one per column (None: no value that month);
    `text` says the same in words."""

    values: tuple[float | None, ...]
    text: str


Cell = str | StatusCell | SparkCell


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
    # Per row, its keys in the tree: column i (i < len(key)) spans the rows whose
    # key agrees with this row's on its first i + 1 parts. Empty: no spans.
    groups: list[tuple[int, ...]] = field(default_factory=list)
    nowrap: frozenset[int] = field(default_factory=frozenset)

    def span(self, row: int, column: int) -> int:
        """How many rows the cell at (row, column) covers: 0 when the cell above covers it."""
        if not self.groups or column >= len(self.groups[row]):
            return 1
        key = self.groups[row][: column + 1]
        if row > 0 and self.groups[row - 1][: column + 1] == key:
            return 0
        n = 1
        while row + n < len(self.groups) and self.groups[row + n][: column + 1] == key:
            n += 1
        return n


Block = Heading | Para | Table


def title(report: ReportInput, lang: str) -> str:
    """`Måluppfyllelse januari-juli 2022` (an en dash): the period in words."""
    words = show.period_title(report.period_label, report.period_from, report.period_to, lang)
    return str(LABELS[lang]["title"].format(label=words))


def staffing_line(report: ReportInput, indicator_id: str, lang: str) -> str | None:
    """`Bemanning: målet kräver i snitt 42 agenttimmar i veckan (Erlang C); ...`, for a
    service-level indicator with calls and talk time in the period, else None. With
    several such indicators each line names its own."""
    found = report.staffing.get(indicator_id)
    if found is None:
        return None
    which = ""
    if len(report.staffing) > 1:
        titles = {r.result.indicator.id: r.result.indicator.title for r in indicator_rows(report)}
        which = f" ({titles[indicator_id].get(lang)})" if indicator_id in titles else ""
    return str(
        LABELS[lang]["staffing"].format(
            which=which,
            needed=show.number(found.needed_hours, lang, 0),
            talk=show.number(found.talk_hours, lang, 0),
        )
    )


def staffing_lines(report: ReportInput, lang: str) -> list[str]:
    """The staffing line of each service-level indicator, in the goal table's order."""
    lines = (staffing_line(report, r.result.indicator.id, lang) for r in indicator_rows(report))
    return [line for line in lines if line is not None]


def document(report: ReportInput, lang: str) -> list[Block]:
    lab = LABELS[lang]
    blocks: list[Block] = [
        Heading(1, title(report, lang)),
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
    groups: list[tuple[int, ...]] = []
    for row in indicator_rows(report):
        groups.append((row.council_index, row.board_index))
        ind = row.result.indicator
        goal_rows.append(
            [
                row.council.goal.title.get(lang),
                row.board.goal.title.get(lang),
                ind.title.get(lang),
                show.value(row.result.current, ind.unit, lang, ind.decimals),
                show.value(row.result.forecast, ind.unit, lang, ind.decimals),
                show.target(ind.target, ind.unit, lang, ind.decimals),
                StatusCell(row.result.status, report.judged_on),
            ]
        )
    blocks.append(Table(lab["goal_headers"], goal_rows, _GOAL_NUMERIC, "goals", groups))
    # Under the goal table, next to the service-level row(s) it is about.
    blocks.extend(Para(line, "note") for line in staffing_lines(report, lang))
    blocks.append(Para(lab["judged_note"][report.judged_on], "note"))
    blocks.append(Para(show.rollup_sentence(report.evaluation, lang), "rollup"))
    blocks.append(Heading(3, lab["board_status"]))
    blocks.append(
        Table(
            lab["board_headers"],
            [
                [
                    c.goal.title.get(lang),
                    b.goal.title.get(lang),
                    StatusCell(b.status, report.judged_on),
                ]
                for c, b in board_rows(report)
            ],
            css="boards",
            groups=[(ci,) for ci, _ in board_indices(report)],
        )
    )
    blocks.extend(_trend_blocks(report, lang))
    blocks.append(Heading(2, lab["summary"]))
    blocks.extend(_summary_blocks(report, lang))
    return blocks


def _trend_blocks(report: ReportInput, lang: str) -> list[Block]:
    """Month by month, for the indicators the streams feed: a row of values and a line."""
    shown = {i: v for i, v in report.trends.items() if v}
    if not shown:
        return []
    lab = LABELS[lang]
    months = sorted({m for values in shown.values() for m, _ in values})
    rows: list[list[Cell]] = []
    for row in indicator_rows(report):
        ind = row.result.indicator
        if ind.id not in shown:
            continue
        by_month = dict(shown[ind.id])
        cells: list[Cell] = [ind.title.get(lang)]
        cells += [show.value(by_month.get(m), ind.unit, lang, ind.decimals) for m in months]
        words = ", ".join(
            f"{show.month_short(m, lang)} {show.value(v, ind.unit, lang, ind.decimals)}"
            for m, v in shown[ind.id]
        )
        cells.append(SparkCell(tuple(by_month.get(m) for m in months), words))
        rows.append(cells)
    headers = [lab["goal_headers"][2], *(show.month_short(m, lang) for m in months), "Trend"]
    return [
        Heading(3, lab["trend"]),  # the heading stays with its table on paper
        Table(headers, rows, frozenset(range(1, len(months) + 1)), "trend"),
        Para(lab["trend_note"], "note"),
    ]


def _summary_blocks(report: ReportInput, lang: str) -> list[Block]:
    lab = LABELS[lang]
    s = report.summary
    incidents = Table(
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
        nowrap=frozenset({4, 5}),
    )
    freezes = Table(
        lab["freeze_headers"],
        [
            [
                f.freeze_id,
                show.timestamp(f.starts_at),
                show.timestamp(f.effective_end),
                show.scope([s.shown(x, lang) for x in f.scope], lang),
                f.reason or show.DASH,
            ]
            for f in s.freezes
        ],
        nowrap=frozenset({1, 2}),
    )
    violations = Table(
        lab["violation_headers"],
        [
            [
                v.change_id,
                s.shown(v.service, lang),
                show.timestamp(v.implemented_at),
                v.freeze_id,
            ]
            for v in s.violations
        ],
        nowrap=frozenset({2}),
    )
    return [
        *_section(lab["incidents"], incidents, lab["no_incidents"], _incident_count(s, lang)),
        *_section(lab["freezes"], freezes, lab["no_freezes"]),
        *_section(lab["violations"], violations, lab["no_violations"]),
    ]


def _section(heading: str, table: Table, none: str, intro: Para | None = None) -> list[Block]:
    """A summary section: its heading, then its table, or the sentence saying there is none."""
    if not table.rows:
        return [Heading(3, heading), Para(none)]
    return [Heading(3, heading), *([intro] if intro is not None else []), table]


def _incident_count(s: Summary, lang: str) -> Para | None:
    """How many major incidents, how long in all and how many still ongoing; None for none."""
    if not s.major_incidents:
        return None
    lab = LABELS[lang]
    n = len(s.major_incidents)
    total = sum(i.duration_minutes or 0.0 for i in s.major_incidents)
    noun = lab["incident_noun"][0 if n == 1 else 1]
    text = lab["incident_count"].format(n=n, noun=noun, total=show.duration(total, lang))
    ongoing = sum(1 for i in s.major_incidents if i.duration_minutes is None)
    if ongoing:
        text += lab["ongoing"].format(n=ongoing)
    return Para(text)
