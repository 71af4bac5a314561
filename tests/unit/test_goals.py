"""Tests for services.core.goals: the shipped goals file (the seed's table 2.2.1) and each error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.goals import Goals, GoalsError, Text, indicators, load_goals

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "goals.yaml"


@pytest.fixture(scope="module")
def shipped() -> Goals:
    return load_goals(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))


# --- the shipped file reproduces the seed's table --------------------------------------------


def test_the_area_is_the_seeds_malomrade(shipped: Goals) -> None:
    assert shipped.area is not None
    assert shipped.area.sv == (
        "Attraktiv kommun - Lekebergs kommun växer på ett ansvarfullt och nytänkande sätt "
        "och möter framtiden utifrån de tre hållbarhetsaspekterna: social, miljömässig "
        "och ekonomisk hållbarhet"
    )
    assert shipped.judge_on == "forecast"


def test_council_and_board_goals_in_the_seeds_words(shipped: Goals) -> None:
    table = [
        (c.title.sv, [(b.title.sv, len(b.indicators)) for b in c.board_goals])
        for c in shipped.council_goals
    ]
    assert table == [
        (
            "Lekebergs kommun gör det enkelt för sina medborgare att bo i Lekeberg",
            [("Ge god service och IT-drift av hög kvalité", 2)],
        ),
        (
            "Lekebergs kommun är en attraktiv arbetsgivare samt växer och utvecklas på ett "
            "hållbart sätt",
            [("Ökad samverkan över kommungränserna", 1), ("ingen", 3)],
        ),
        (
            "Lekebergs kommun minskar sin klimatpåverkan",
            [("Underlätta för digitala möten och att en hållbar teknik används.", 2)],
        ),
    ]
    assert shipped.council_goals[1].board_goals[1].title == Text(sv="ingen", en="none")


def test_eight_indicators_in_order_with_the_seeds_titles_and_targets(shipped: Goals) -> None:
    rows = [
        (i.title.sv, i.unit, i.target.rule, i.target.value, i.source.sli, i.forecast)
        for i in indicators(shipped)
    ]
    assert rows == [
        (
            "Minska genomsnittlig ärendehanteringstid",
            "hours",
            "at_most",
            20,
            "tickets.handling_time.mean",
            "manual",
        ),
        (
            "Andel besvarade samtal % efter 20 respektive 60 sekunder. "
            "20 sek = Servicenivå 1 och 60 sek = Servicenivå 2",
            "percent",
            "at_least",
            0.70,
            "calls.service_level.20",
            "manual",
        ),
        (
            "Etablera och arbeta med beslutade förvaltningsplaner i samtliga objekt",
            "count",
            "at_least",
            9,
            None,
            "manual",
        ),
        (
            "Värde medarbetarundersökning - Medarbetarengagemang (HME)",
            "score",
            "increase_from",
            70,
            None,
            "manual",
        ),
        ("Sjukfrånvaro", "percent", "at_most", 0.07, None, "manual"),
        (
            "Nämnderna och styrelsen håller sin budgetram",
            "tkr",
            "at_least",
            0,
            None,
            "manual",
        ),
        ("Digitala möten och hållbar teknik.", "percent", "at_least", 0.01, None, "manual"),
        ("Miljödiplomering av Lekebergs kommun", "yesno", "equals", True, None, "manual"),
    ]
    # True == 1 in Python: check the yes/no target really is a bool, the rest numbers.
    kinds = [type(i.target.value) for i in indicators(shipped)]
    assert kinds == [float] * 7 + [bool]


def test_every_shipped_indicator_has_an_english_title(shipped: Goals) -> None:
    for ind in indicators(shipped):
        assert ind.title.en, ind.id
        assert ind.title.get("en") == ind.title.en
    assert [i.id for i in indicators(shipped)] == [
        "arendehanteringstid",
        "serviceniva",
        "forvaltningsplaner",
        "hme",
        "sjukfranvaro",
        "budget",
        "digitala-moten",
        "miljodiplomering",
    ]


def test_text_falls_back_to_swedish() -> None:
    t = Text(sv="Sjukfrånvaro")
    assert t.get("en") == "Sjukfrånvaro"
    assert t.get("sv") == "Sjukfrånvaro"
    assert Text(sv="ingen", en="none").get("en") == "none"
    assert Text(sv="ingen", en="none").get("sv") == "ingen"


def test_minimal_file_takes_the_defaults() -> None:
    g = load_goals(goals_with(indicator()))
    (ind,) = indicators(g)
    assert g.area is None
    assert g.judge_on == "forecast"
    assert ind.source.sli is None
    assert ind.source.filters == {}
    assert ind.forecast == "last"
    assert ind.decimals is None


def test_filters_by_family_are_accepted() -> None:
    cases: list[dict[str, Any]] = [
        {"sli": "calls.service_level.60", "filters": {"queue": "askersund"}},
        {"sli": "calls.abandon_rate", "filters": {"municipality": "Laxå"}},
        {"sli": "tickets.handling_time.p90", "filters": {"priority": 2, "category": "konto"}},
        {"sli": "incidents.availability", "filters": {"service": "ekonomiskt-bistand"}},
        {"sli": "incidents.mttr_minutes"},
        {"sli": "changes.violations", "filters": {"service": "m365"}},
    ]
    for source in cases:
        (ind,) = indicators(load_goals(goals_with(indicator(source=source))))
        assert ind.source.sli == source["sli"]
        assert ind.source.filters == source.get("filters", {})


# --- error messages ---------------------------------------------------------------------------


def indicator(**extra: Any) -> dict[str, Any]:
    return {
        "id": "x",
        "title": {"sv": "X"},
        "unit": "count",
        "target": {"rule": "at_most", "value": 1},
    } | extra


def goals_with(*inds: dict[str, Any], **extra: Any) -> dict[str, Any]:
    board = {"title": {"sv": "B"}, "indicators": list(inds)}
    return {"council_goals": [{"title": {"sv": "K"}, "board_goals": [board]}]} | extra


def error(data: dict[str, Any]) -> str:
    with pytest.raises(GoalsError) as info:
        load_goals(data)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_error_names_the_path_and_the_indicator() -> None:
    bad = indicator(id="sjuk", target={"rule": "below", "value": 1})
    data = goals_with(indicator(id="a"))
    data["council_goals"][0]["board_goals"].append({"title": {"sv": "C"}, "indicators": [bad]})
    assert error(data) == (
        "council_goals[0].board_goals[1].indicators[0].target.rule (indicator 'sjuk'): "
        "Input should be 'at_most', 'at_least', 'increase_from' or 'equals'"
    )


def test_duplicate_ids() -> None:
    assert error(goals_with(indicator(id="budget"), indicator(id="budget"))) == (
        "duplicate indicator id 'budget' (council_goals[0].board_goals[0].indicators[0] "
        "and council_goals[0].board_goals[0].indicators[1])"
    )


def test_bool_target_needs_equals() -> None:
    bad = indicator(unit="yesno", target={"rule": "at_least", "value": True})
    assert error(goals_with(bad)) == (
        "council_goals[0].board_goals[0].indicators[0].target (indicator 'x'): "
        "a yes/no target needs rule 'equals', not 'at_least'"
    )


def test_yesno_unit_needs_a_bool_target() -> None:
    bad = indicator(unit="yesno", target={"rule": "equals", "value": 1})
    assert error(goals_with(bad)) == (
        "council_goals[0].board_goals[0].indicators[0] (indicator 'x'): "
        "unit 'yesno' needs a yes/no target (true or false)"
    )


def test_bool_target_needs_the_yesno_unit() -> None:
    bad = indicator(unit="count", target={"rule": "equals", "value": False})
    assert error(goals_with(bad)).endswith(": a yes/no target needs unit 'yesno', not 'count'")


def test_yesno_indicator_takes_manual_values_without_a_trend() -> None:
    yes = {"unit": "yesno", "target": {"rule": "equals", "value": True}}
    expected = ": a yes/no indicator takes manual values and no 'linear' forecast"
    assert error(goals_with(indicator(forecast="linear", **yes))).endswith(expected)
    from_sli = indicator(source={"sli": "changes.violations"}, **yes)
    assert error(goals_with(from_sli)).endswith(expected)


def test_percent_targets_are_fractions() -> None:
    bad = indicator(unit="percent", target={"rule": "at_least", "value": 70})
    assert error(goals_with(bad)) == (
        "council_goals[0].board_goals[0].indicators[0] (indicator 'x'): "
        "percent targets are fractions: write 0.7 for 70 %"
    )


def test_target_value_must_be_a_number_or_yes_no() -> None:
    bad = indicator(target={"rule": "at_most", "value": "20 st"})
    assert error(goals_with(bad)) == (
        "council_goals[0].board_goals[0].indicators[0].target.value (indicator 'x'): "
        "should be a number, or true/false for a yes/no target, got '20 st'"
    )
    nan = indicator(target={"rule": "at_most", "value": float("nan")})
    assert "should be a number" in error(goals_with(nan))


def test_unknown_sli() -> None:
    message = error(goals_with(indicator(source={"sli": "calls.service_level.30"})))
    assert message.startswith(
        "council_goals[0].board_goals[0].indicators[0].source.sli (indicator 'x'): "
        "Input should be 'calls.service_level.20', 'calls.service_level.60',"
    )


def test_filter_names_per_family() -> None:
    source = {"sli": "calls.abandon_rate", "filters": {"service": "m365"}}
    assert error(goals_with(indicator(source=source))) == (
        "council_goals[0].board_goals[0].indicators[0].source (indicator 'x'): "
        "calls cannot be filtered by 'service': use municipality, queue"
    )
    source = {"sli": "incidents.mttr_minutes", "filters": {"queue": "askersund"}}
    assert error(goals_with(indicator(source=source))).endswith(
        ": incidents cannot be filtered by 'queue': use municipality, service"
    )


def test_filter_values() -> None:
    quoted = {"sli": "tickets.handling_time.mean", "filters": {"priority": "2"}}
    assert error(goals_with(indicator(source=quoted))).endswith(
        ": filter 'priority' takes a whole number 1-4, got '2'"
    )
    out_of_range = {"sli": "tickets.handling_time.mean", "filters": {"priority": 5}}
    assert error(goals_with(indicator(source=out_of_range))).endswith(
        ": filter 'priority' takes a whole number 1-4, got 5"
    )
    number = {"sli": "calls.service_level.20", "filters": {"queue": 5}}
    assert error(goals_with(indicator(source=number))).endswith(
        ": filter 'queue' takes a name, got 5 (quote it)"
    )
    yes = {"sli": "tickets.handling_time.mean", "filters": {"priority": True}}
    assert error(goals_with(indicator(source=yes))) == (
        "council_goals[0].board_goals[0].indicators[0].source.filters (indicator 'x'): "
        "filter 'priority' should be a name or a number, got True"
    )


def test_manual_values_take_no_filters() -> None:
    source = {"filters": {"queue": "askersund"}}
    assert error(goals_with(indicator(source=source))).endswith(
        ": filters need an sli: manual values are not filtered"
    )


def test_availability_needs_a_service() -> None:
    source = {"sli": "incidents.availability"}
    assert error(goals_with(indicator(source=source))).endswith(
        ": incidents.availability needs a 'service' filter"
    )


def test_id_must_be_a_slug() -> None:
    message = error(goals_with(indicator(id="Sjukfrånvaro")))
    assert message.startswith(
        "council_goals[0].board_goals[0].indicators[0].id (indicator 'Sjukfrånvaro'): "
        "String should match pattern"
    )


def test_misspelt_key_and_missing_parts() -> None:
    assert error(goals_with(indicator(titel={"sv": "X"}))) == (
        "council_goals[0].board_goals[0].indicators[0].titel (indicator 'x'): "
        "Extra inputs are not permitted"
    )
    assert error({}) == "council_goals: Field required"
    assert error({"council_goals": []}) == (
        "council_goals: List should have at least 1 item after validation, not 0"
    )
    no_unit = indicator()
    del no_unit["unit"]
    assert error(goals_with(no_unit)) == (
        "council_goals[0].board_goals[0].indicators[0].unit (indicator 'x'): Field required"
    )


def test_several_problems_on_one_line() -> None:
    message = error(goals_with(indicator(unit="metres", forecast="trend")))
    assert message == (
        "council_goals[0].board_goals[0].indicators[0].unit (indicator 'x'): Input should be "
        "'hours', 'percent', 'count', 'score', 'tkr', 'yesno' or 'st'; "
        "council_goals[0].board_goals[0].indicators[0].forecast (indicator 'x'): Input should "
        "be 'last', 'linear' or 'manual'"
    )
