"""Tests for services.core.evaluation: forecasts, targets and the roll-up, worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.core.evaluation import Evaluation, Observation, evaluate, linear_forecast, meets
from services.core.goals import Goals, Target, load_goals

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "goals.yaml"
JULY_31 = date(2022, 7, 31)  # the seed report's figures are "till och med 31 juli"
YEAR_END = date(2022, 12, 31)


def day(n: int) -> date:
    return date(2022, 1, 1) + timedelta(days=n)


# --- linear_forecast --------------------------------------------------------------------------


def test_linear_forecast_by_hand() -> None:
    # Points (0, 10), (10, 12), (20, 17): mean x = 10, mean y = 39 / 3 = 13.
    # Sxy = (-10)(-3) + 0(-1) + (10)(4) = 30 + 0 + 40 = 70; Sxx = 100 + 0 + 100 = 200.
    # Slope = 70 / 200 = 0.35 per day; intercept = 13 - 0.35 * 10 = 9.5.
    # At day 30: 9.5 + 0.35 * 30 = 9.5 + 10.5 = 20.0; at day 20: 9.5 + 7 = 16.5.
    points = [(day(0), 10.0), (day(10), 12.0), (day(20), 17.0)]
    assert linear_forecast(points, day(30)) == pytest.approx(20.0)
    assert linear_forecast(points, day(20)) == pytest.approx(16.5)
    assert linear_forecast(points, day(0)) == pytest.approx(9.5)
    # Order of the points does not matter.
    assert linear_forecast(points[::-1], day(30)) == pytest.approx(20.0)


def test_linear_forecast_falling_line_through_two_points() -> None:
    # (0, 0.9) and (4, 0.7): slope -0.05 per day; at day 10: 0.9 - 0.5 = 0.4.
    assert linear_forecast([(day(0), 0.9), (day(4), 0.7)], day(10)) == pytest.approx(0.4)


def test_linear_forecast_with_few_points() -> None:
    assert linear_forecast([], day(30)) is None
    assert linear_forecast([(day(3), 7.5)], day(30)) == 7.5
    # All on one day: no slope exists, so the mean of that day's values.
    assert linear_forecast([(day(3), 7.0), (day(3), 8.0)], day(30)) == 7.5


# --- meets ------------------------------------------------------------------------------------


def t(rule: Any, value: float | bool) -> Target:
    return Target(rule=rule, value=value)


def test_at_most_includes_the_target() -> None:
    assert meets(20.0, t("at_most", 20))
    assert meets(19.5, t("at_most", 20))
    assert not meets(20.001, t("at_most", 20))
    assert not meets(25.0, t("at_most", 20))


def test_at_least_includes_the_target() -> None:
    assert meets(0.70, t("at_least", 0.70))
    assert meets(0.78, t("at_least", 0.70))
    assert not meets(0.6999, t("at_least", 0.70))
    assert not meets(-1000.0, t("at_least", 0))


def test_increase_from_excludes_the_starting_value() -> None:
    assert not meets(70.0, t("increase_from", 70))
    assert meets(70.5, t("increase_from", 70))
    assert meets(71.0, t("increase_from", 70))
    assert not meets(69.0, t("increase_from", 70))


def test_equals_numbers_within_a_relative_tolerance() -> None:
    assert meets(9.0, t("equals", 9))
    assert meets(9 * (1 + 1e-12), t("equals", 9))
    assert not meets(9.001, t("equals", 9))
    assert not meets(10.0, t("equals", 9))
    assert meets(0.1 + 0.2, t("equals", 0.3))  # 0.30000000000000004
    assert meets(0.0, t("equals", 0))


def test_equals_yes_no() -> None:
    assert meets(True, t("equals", True))
    assert meets(False, t("equals", False))
    assert not meets(False, t("equals", True))
    assert not meets(True, t("equals", False))


def test_yes_no_and_numbers_never_meet_each_other() -> None:
    # In Python True == 1 and True >= 0; a measurement of the wrong kind is not a pass.
    assert not meets(True, t("at_least", 0))
    assert not meets(1.0, t("equals", True))
    assert not meets(True, t("equals", 1))


# --- the seed's table -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> Goals:
    return load_goals(yaml.safe_load(SHIPPED.read_text(encoding="utf-8")))


# Nuvärde and prognos of each row of table 2.2.1, as the seed gives them.
SEED = {
    "arendehanteringstid": (25.0, 20.0),
    "serviceniva": (0.78, 0.70),
    "forvaltningsplaner": (9.0, 9.0),
    "hme": (71.0, 71.0),
    "sjukfranvaro": (0.0729, 0.07),
    "budget": (-1412.0, -1000.0),
    "digitala-moten": (0.01, 0.01),
    "miljodiplomering": (True, True),
}


def seed_observations() -> dict[str, list[Observation]]:
    return {k: [Observation(JULY_31, now, forecast)] for k, (now, forecast) in SEED.items()}


def statuses(e: Evaluation) -> dict[str, str | None]:
    return {
        r.indicator.id: r.status
        for c in e.council_goals
        for b in c.board_goals
        for r in b.indicators
    }


def test_seed_judged_on_the_forecast(shipped: Goals) -> None:
    e = evaluate(shipped, seed_observations(), YEAR_END)
    # 20 <= 20, 0.70 >= 0.70, 9 >= 9, 71 > 70, 0.07 <= 0.07, -1000 < 0 (missed),
    # 0.01 >= 0.01, yes == yes.
    assert statuses(e) == {
        "arendehanteringstid": "achieved",
        "serviceniva": "achieved",
        "forvaltningsplaner": "achieved",
        "hme": "achieved",
        "sjukfranvaro": "achieved",
        "budget": "not_achieved",
        "digitala-moten": "achieved",
        "miljodiplomering": "achieved",
    }
    rows = [
        (r.current, r.forecast)
        for c in e.council_goals
        for b in c.board_goals
        for r in b.indicators
    ]
    assert rows == list(SEED.values())
    boards = [b.status for c in e.council_goals for b in c.board_goals]
    # The "ingen" board goal has hme and sick leave achieved but the budget missed.
    assert boards == ["achieved", "achieved", "partially", "achieved"]
    assert [c.status for c in e.council_goals] == ["achieved", "partially", "achieved"]
    assert e.status == "partially"
    assert e.counts == {"achieved": 3, "not_achieved": 0, "partially": 1}


def test_seed_judged_on_the_current_value(shipped: Goals) -> None:
    e = evaluate(shipped, seed_observations(), YEAR_END, judge_on="current")
    # 25 > 20 (missed), 0.78 >= 0.70, 9 >= 9, 71 > 70, 0.0729 > 0.07 (missed),
    # -1412 < 0 (missed), 0.01 >= 0.01, yes == yes.
    assert statuses(e) == {
        "arendehanteringstid": "not_achieved",
        "serviceniva": "achieved",
        "forvaltningsplaner": "achieved",
        "hme": "achieved",
        "sjukfranvaro": "not_achieved",
        "budget": "not_achieved",
        "digitala-moten": "achieved",
        "miljodiplomering": "achieved",
    }
    boards = [b.status for c in e.council_goals for b in c.board_goals]
    assert boards == ["partially", "achieved", "partially", "achieved"]
    assert [c.status for c in e.council_goals] == ["partially", "partially", "achieved"]
    assert e.status == "partially"
    assert e.counts == {"achieved": 2, "not_achieved": 0, "partially": 2}


def test_the_goals_file_can_ask_for_the_current_value(shipped: Goals) -> None:
    on_current = shipped.model_copy(update={"judge_on": "current"})
    e = evaluate(on_current, seed_observations(), YEAR_END)
    assert statuses(e)["arendehanteringstid"] == "not_achieved"  # 25 > 20
    # The caller's choice wins over the file's.
    e = evaluate(on_current, seed_observations(), YEAR_END, judge_on="forecast")
    assert statuses(e)["arendehanteringstid"] == "achieved"  # 20 <= 20


def test_nothing_observed_has_no_status(shipped: Goals) -> None:
    e = evaluate(shipped, {}, YEAR_END)
    for c in e.council_goals:
        assert c.status is None
        for b in c.board_goals:
            assert b.status is None
            for r in b.indicators:
                assert (r.current, r.forecast, r.status) == (None, None, None)
    assert e.status is None
    assert e.counts == {"achieved": 0, "not_achieved": 0, "partially": 0}


def test_indicators_without_values_are_left_out_of_the_rollup(shipped: Goals) -> None:
    obs = seed_observations()
    del obs["budget"]  # the only missed one: the "ingen" goal is now achieved
    e = evaluate(shipped, obs, YEAR_END)
    assert statuses(e)["budget"] is None
    assert e.council_goals[1].board_goals[1].status == "achieved"
    assert e.status == "achieved"
    assert e.counts == {"achieved": 4, "not_achieved": 0, "partially": 0}


# --- forecast methods and roll-up on small files ----------------------------------------------


def one_board(*inds: dict[str, Any], judge_on: str = "forecast") -> Goals:
    board = {"title": {"sv": "B"}, "indicators": list(inds)}
    council = {"title": {"sv": "K"}, "board_goals": [board]}
    return load_goals({"judge_on": judge_on, "council_goals": [council]})


def ind(id: str, rule: str = "at_most", value: float | bool = 20, **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "title": {"sv": id},
        "unit": "hours",
        "target": {"rule": rule, "value": value},
    } | extra


def only(e: Evaluation) -> tuple[Any, Any, Any]:
    r = e.council_goals[0].board_goals[0].indicators[0]
    return r.current, r.forecast, r.status


def test_last_takes_the_latest_by_date_whatever_the_order() -> None:
    goals = one_board(ind("a"))
    obs = {"a": [Observation(day(20), 18.0), Observation(day(40), 22.0), Observation(day(5), 30.0)]}
    assert only(evaluate(goals, obs, YEAR_END)) == (22.0, 22.0, "not_achieved")


def test_last_of_several_on_the_same_day_is_the_last_given() -> None:
    goals = one_board(ind("a"))
    obs = {"a": [Observation(day(40), 22.0), Observation(day(40), 19.0)]}
    assert only(evaluate(goals, obs, YEAR_END)) == (19.0, 19.0, "achieved")


def test_linear_forecast_reads_the_trend_at_the_period_end() -> None:
    # The hand-worked line of test_linear_forecast_by_hand: 9.5 + 0.35 * day.
    goals = one_board(ind("a", forecast="linear"))
    obs = {"a": [Observation(day(0), 10.0), Observation(day(10), 12.0), Observation(day(20), 17.0)]}
    current, forecast, _ = only(evaluate(goals, obs, day(30)))
    assert current == 17.0
    assert forecast == pytest.approx(20.0)
    # 20.0 at_most 20 is a boundary in exact arithmetic; any rounding decides it, so check
    # a date clearly past it instead: day 40 gives 9.5 + 14 = 23.5 > 20.
    current, forecast, status = only(evaluate(goals, obs, day(40)))
    assert (current, status) == (17.0, "not_achieved")
    assert forecast == pytest.approx(23.5)
    # And day 25 gives 9.5 + 8.75 = 18.25 <= 20.
    assert only(evaluate(goals, obs, day(25)))[2] == "achieved"


def test_linear_forecast_ignores_yes_no_values() -> None:
    goals = one_board(ind("a", forecast="linear"))
    obs = {"a": [Observation(day(0), 10.0), Observation(day(5), True), Observation(day(10), 12.0)]}
    # Through (0, 10) and (10, 12): slope 0.2; at day 30: 10 + 6 = 16.
    current, forecast, status = only(evaluate(goals, obs, day(30)))
    assert current == 12.0
    assert forecast == pytest.approx(16.0)
    assert status == "achieved"


def test_manual_forecast_is_the_latest_one_entered_else_the_current_value() -> None:
    goals = one_board(ind("a", forecast="manual"))
    obs = {
        "a": [
            Observation(day(10), 30.0, 25.0),
            Observation(day(20), 28.0, 19.0),
            Observation(day(30), 27.0),  # no forecast with the newest value
        ]
    }
    assert only(evaluate(goals, obs, YEAR_END)) == (27.0, 19.0, "achieved")
    assert only(evaluate(goals, {"a": [Observation(day(5), 27.0)]}, YEAR_END)) == (
        27.0,
        27.0,
        "not_achieved",
    )


def test_a_forecast_entered_is_ignored_unless_the_method_is_manual() -> None:
    goals = one_board(ind("a"))  # forecast: last
    assert only(evaluate(goals, {"a": [Observation(day(5), 27.0, 19.0)]}, YEAR_END)) == (
        27.0,
        27.0,
        "not_achieved",
    )


def test_judged_on_current_with_no_forecast_still_judges() -> None:
    goals = one_board(ind("a", forecast="linear"), judge_on="current")
    obs = {"a": [Observation(day(5), True)]}  # no numeric value: no trend
    # A yes/no against a number target does not meet it; the forecast is missing.
    assert only(evaluate(goals, obs, YEAR_END)) == (True, None, "not_achieved")
    # Judged on the forecast instead, there is nothing to judge.
    assert only(evaluate(goals, obs, YEAR_END, judge_on="forecast")) == (True, None, None)


def test_board_goal_all_missed_is_not_achieved_and_so_is_the_council_goal() -> None:
    goals = one_board(ind("a"), ind("b"), ind("c"))
    obs = {"a": [Observation(day(1), 21.0)], "b": [Observation(day(1), 30.0)]}
    e = evaluate(goals, obs, YEAR_END)
    assert [r.status for r in e.council_goals[0].board_goals[0].indicators] == [
        "not_achieved",
        "not_achieved",
        None,
    ]
    assert e.council_goals[0].board_goals[0].status == "not_achieved"
    assert e.council_goals[0].status == "not_achieved"
    assert e.status == "not_achieved"
    assert e.counts == {"achieved": 0, "not_achieved": 1, "partially": 0}


def test_council_goal_of_achieved_and_missed_board_goals_is_partially() -> None:
    board_a = {"title": {"sv": "A"}, "indicators": [ind("a")]}
    board_b = {"title": {"sv": "B"}, "indicators": [ind("b")]}
    board_c = {"title": {"sv": "C"}, "indicators": [ind("c")]}
    goals = load_goals(
        {
            "council_goals": [
                {"title": {"sv": "K1"}, "board_goals": [board_a, board_b]},
                {"title": {"sv": "K2"}, "board_goals": [board_c]},
            ]
        }
    )
    obs = {
        "a": [Observation(day(1), 10.0)],
        "b": [Observation(day(1), 30.0)],
        "c": [Observation(day(1), 30.0)],
    }
    e = evaluate(goals, obs, YEAR_END)
    assert [c.status for c in e.council_goals] == ["partially", "not_achieved"]
    # Overall rolls up the board goals (1 achieved, 2 missed), not the council goals.
    assert e.status == "partially"
    assert e.counts == {"achieved": 1, "not_achieved": 2, "partially": 0}
