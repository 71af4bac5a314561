"""The SLO file, burn-rate arithmetic and the generated rule files (no Prometheus needed)."""

from __future__ import annotations

import re
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from prometheus_client import Counter, Gauge, Histogram
from typer.testing import CliRunner

from services.client import ClientError
from services.commands.rules import RULES_DIR, load_objectives, rules
from services.config import ConfigError
from services.core.slo import (
    BURN_WINDOWS,
    SloError,
    Term,
    burn_factor,
    error_ratio_threshold,
    load_slos,
    seconds,
)
from services.observability import processor_metrics as m
from services.observability.rules import HEADER, known_counters, note, rule_files, unreachable
from services.settings import CONFIG_DIR


def _spec(**changes: Any) -> dict[str, Any]:
    objective = {
        "name": "calls-answered-20s",
        "service": "servicedesk-telefoni",
        "group": "servicedesk",
        "description": "Calls answered within 20 s",
        "objective": 0.7,
        "by": ["queue", "municipality"],
        "sli": {
            "good": 'opstrack_calls_answered_within_total{threshold="20"}',
            "total": "opstrack_calls_offered_total - opstrack_calls_short_abandoned_total",
        },
    }
    objective.update(changes)
    return {"window": "28d", "objectives": [objective]}


def _load(data: dict[str, Any]) -> Any:
    return load_slos(data, known_counters(), frozenset({"servicedesk-telefoni", "network"}))


# --- burn rates, worked out by hand -------------------------------------------------


def test_the_30_day_factors_are_the_sre_workbooks() -> None:
    # 2 % of 720 h in 1 h = 14.4; 5 % in 6 h = 36/6 = 6; 10 % in 24 h = 3; 10 % in 72 h = 1.
    assert [burn_factor("30d", w) for w in BURN_WINDOWS] == [
        Fraction("14.4"),
        6,
        3,
        1,
    ]


def test_a_28_day_window_scales_them_by_28_30() -> None:
    # 2 % of 672 h = 13.44 h, spent in 1 h; 5 % = 33.6 h in 6 h = 5.6; 10 % = 67.2 h
    # in 24 h = 2.8 and in 72 h = 0.9333… (14/15).
    assert [burn_factor("28d", w) for w in BURN_WINDOWS] == [
        Fraction("13.44"),
        Fraction("5.6"),
        Fraction("2.8"),
        Fraction(14, 15),
    ]
    assert burn_factor("4w", BURN_WINDOWS[0]) == burn_factor("28d", BURN_WINDOWS[0])


def test_thresholds_are_factor_times_budget_exactly() -> None:
    (sl1,) = _load(_spec())
    assert sl1.budget == Fraction(3, 10)  # 0.7 read as 7/10, not 0.69999…
    # 13.44 * 0.3 = 4.032 and 5.6 * 0.3 = 1.68: more than every call failing.
    assert [error_ratio_threshold(sl1, w) for w in BURN_WINDOWS] == [
        Fraction("4.032"),
        Fraction("1.68"),
        Fraction("0.84"),
        Fraction("0.28"),
    ]
    assert [w.severity for w in unreachable(sl1)] == ["page", "page"]
    (abandon,) = _load(_spec(objective=0.95))
    # 13.44 * 0.05 = 0.672, 5.6 * 0.05 = 0.28, 2.8 * 0.05 = 0.14, 14/15 * 0.05 = 7/150.
    assert [error_ratio_threshold(abandon, w) for w in BURN_WINDOWS] == [
        Fraction("0.672"),
        Fraction("0.28"),
        Fraction("0.14"),
        Fraction(7, 150),
    ]
    assert unreachable(abandon) == []


def test_durations() -> None:
    assert [seconds(d) for d in ("5m", "6h", "1d", "28d", "4w")] == [
        300,
        21600,
        86400,
        2419200,
        2419200,
    ]
    with pytest.raises(ValueError, match="not a duration"):
        seconds("1h30m")


# --- the file -----------------------------------------------------------------------


def test_the_shipped_file_loads() -> None:
    objectives = load_objectives(CONFIG_DIR)
    assert [o.name for o in objectives] == [
        "calls-answered-20s",
        "calls-answered-60s",
        "calls-not-abandoned",
    ]
    sl1 = objectives[0]
    assert (sl1.objective, sl1.window, sl1.by) == (
        Fraction(7, 10),
        "28d",
        ("queue", "municipality"),
    )
    assert sl1.good == (
        Term(1, "opstrack_calls_answered_within_total", (("threshold", "=", "20"),)),
    )
    assert [(t.sign, t.metric) for t in sl1.total] == [
        (1, "opstrack_calls_offered_total"),
        (-1, "opstrack_calls_short_abandoned_total"),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"objective": 1.5}, r"^objectives\[0\]\.objective: Input should be less than 1$"),
        ({"objective": 0}, r"^objectives\[0\]\.objective: Input should be greater than 0$"),
        ({"name": "Service Level"}, r"^objectives\[0\]\.name: String should match pattern"),
        ({"colour": "red"}, r"^objectives\[0\]\.colour: Extra inputs are not permitted$"),
        ({"window": "1.5d"}, r"^objectives\[0\]\.window: '1.5d' is not a duration like"),
        (
            {"window": "3d"},
            r"^objectives\[0\]\.window: '3d': need whole days or weeks, at least 7d$",
        ),
        ({"window": "672h"}, r"^objectives\[0\]\.window: '672h': need whole days or weeks"),
        (
            {"service": "servicedesk"},
            r"^objectives\[0\]\.service: unknown service 'servicedesk'"
            r" \(did you mean 'servicedesk-telefoni'\?\)$",
        ),
        ({"service": "mdm"}, r"^objectives\[0\]\.service: unknown service 'mdm'$"),
        (
            {
                "sli": {
                    "good": "opstrack_calls_answerd_total",
                    "total": "opstrack_calls_offered_total",
                }
            },
            r"^objectives\[0\]\.sli\.good: unknown counter 'opstrack_calls_answerd_total' "
            r"\(did you mean 'opstrack_calls_answered_total'\?\)$",
        ),
        (
            {"sli": {"good": "opstrack_calls_answered_total", "total": "opstrack_tickets_open"}},
            r"^objectives\[0\]\.sli\.total: 'opstrack_tickets_open' is not a counter",
        ),
        (
            {
                "sli": {
                    "good": 'opstrack_calls_answered_total{queue="a" municipality="b"}',
                    "total": "opstrack_calls_offered_total",
                }
            },
            r"^objectives\[0\]\.sli\.good: cannot read the matcher 'queue=\"a\" municipality=\"b\"'",
        ),
        (
            {
                "sli": {
                    "good": 'opstrack_calls_answered_total{priority="1"}',
                    "total": "opstrack_calls_offered_total",
                }
            },
            r"^objectives\[0\]\.sli\.good: opstrack_calls_answered_total has no label 'priority'$",
        ),
        (
            {
                "sli": {
                    "good": "opstrack_calls_answered_total",
                    "total": "opstrack_calls_offered_total opstrack_calls_abandoned_total",
                }
            },
            r"^objectives\[0\]\.sli\.total: cannot read 'opstrack_calls_abandoned_total': "
            r"write counters joined by \+ and -$",
        ),
        (
            {
                "sli": {
                    "good": "- opstrack_calls_answered_total",
                    "total": "opstrack_calls_offered_total",
                }
            },
            r"^objectives\[0\]\.sli\.good: the first counter must be added",
        ),
        (
            {"by": ["queue", "topic"]},
            r"^objectives\[0\]\.by: opstrack_calls_answered_within_total has no label 'topic'$",
        ),
        ({"by": ["severity"]}, r"^objectives\[0\]\.by: 'severity' cannot be a split label$"),
        ({"by": ["queue", "queue"]}, r"^objectives\[0\]\.by: a label is named twice$"),
    ],
)
def test_a_wrong_objective_is_one_line_naming_the_place(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(SloError, match=message) as info:
        _load(_spec(**change))
    assert "\n" not in str(info.value)


def test_file_level_mistakes() -> None:
    with pytest.raises(SloError, match=r"^objectives: List should have at least 1 item"):
        _load({"objectives": []})
    with pytest.raises(SloError, match=r"^window: '2d': need whole days or weeks, at least 7d$"):
        _load({**_spec(), "window": "2d"})
    twice = _spec()
    twice["objectives"] *= 2
    with pytest.raises(SloError, match=r"^objectives\[1\]\.name: duplicate objective name"):
        _load(twice)
    with pytest.raises(SloError, match=r"^\(file\): Input should be a valid dictionary"):
        _load([])  # type: ignore[arg-type]


def test_without_the_workers_counters_only_the_syntax_is_checked() -> None:
    (o,) = load_slos(_spec(sli={"good": "my_good_total", "total": "my_all_total + b_total"}))
    assert [t.selector for t in o.total] == ["my_all_total", "b_total"]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    for name in ("services.yaml", "slos.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    return tmp_path


def test_the_config_error_names_the_file(config_dir: Path) -> None:
    path = config_dir / "slos.yaml"
    path.write_text(path.read_text().replace("objective: 0.95", "objective: 95"))
    with pytest.raises(ConfigError) as info:
        load_objectives(config_dir)
    assert str(info.value) == f"{path}: objectives[2].objective: Input should be less than 1"
    path.write_text("objectives: [\n")
    with pytest.raises(ConfigError, match=r"slos\.yaml: while parsing a flow node") as info:
        load_objectives(config_dir)
    assert "\n" not in str(info.value)
    path.unlink()
    with pytest.raises(ConfigError, match=r"slos\.yaml: no such file"):
        load_objectives(config_dir)


# --- the generated files -------------------------------------------------------------


def test_the_committed_rule_files_are_what_the_command_writes() -> None:
    # The drift test: `opstrack rules --check` on the committed files.
    assert rules(out=RULES_DIR, check=True, config_dir=CONFIG_DIR) == []
    generated = rule_files(load_objectives(CONFIG_DIR))
    assert sorted(generated) == ["itsm.yml", "pipeline.yml", "slo-servicedesk.yml"]
    for name, text in generated.items():
        assert (RULES_DIR / name).read_text() == text
    assert generated == rule_files(load_objectives(CONFIG_DIR))  # deterministic


def test_check_fails_on_drift_and_writing_repairs_it(tmp_path: Path, config_dir: Path) -> None:
    out = tmp_path / "rules"
    out.mkdir()
    with pytest.raises(
        ClientError, match=r"out of date: itsm\.yml, pipeline\.yml, slo-servicedesk\.yml"
    ):
        rules(out=out, check=True, config_dir=config_dir)
    (out / "slo-old.yml").write_text(HEADER + "groups: []\n")  # once generated, now not
    (out / "mine.yml").write_text("groups: []\n")  # someone's own file: left alone
    assert rules(out=out, config_dir=config_dir) == [
        "itsm.yml",
        "pipeline.yml",
        "slo-servicedesk.yml",
        "slo-old.yml",
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "itsm.yml",
        "mine.yml",
        "pipeline.yml",
        "slo-servicedesk.yml",
    ]
    assert rules(out=out, check=True, config_dir=config_dir) == []
    (out / "itsm.yml").write_text((out / "itsm.yml").read_text() + "# edited\n")
    with pytest.raises(
        ClientError, match=r"^rule files out of date: itsm\.yml \(run `opstrack rules`\)$"
    ):
        rules(out=out, check=True, config_dir=config_dir)


def _rules(name: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((RULES_DIR / name).read_text())
    return [r for g in data["groups"] for r in g["rules"]]


def test_the_slo_file_records_every_window_and_alerts_by_severity() -> None:
    rules_ = _rules("slo-servicedesk.yml")
    records = [(r["record"], r["labels"]["slo"]) for r in rules_ if "record" in r]
    windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "28d"]
    for slo in ("calls-answered-20s", "calls-answered-60s", "calls-not-abandoned"):
        assert [r for r, s in records if s == slo] == [
            *(f"opstrack:slo_sli_error:ratio_rate{w}" for w in windows),
            "opstrack:slo_objective:ratio",
            "opstrack:slo_error_budget_remaining:ratio",
        ]
    alerts = [(r["alert"], r["labels"]["severity"]) for r in rules_ if "alert" in r]
    assert alerts == [
        ("CallsAnswered20sErrorBudgetBurn", "ticket"),
        ("CallsAnswered60sErrorBudgetBurn", "ticket"),
        ("CallsNotAbandonedErrorBudgetBurn", "page"),
        ("CallsNotAbandonedErrorBudgetBurn", "ticket"),
    ]
    assert len(rules_) == 3 * 10 + 4
    # The conditions that cannot fire are named at the top of the file instead.
    text = (RULES_DIR / "slo-servicedesk.yml").read_text()
    (sl1,) = [o for o in load_objectives(CONFIG_DIR) if o.name == "calls-answered-20s"]
    assert f"# {note(sl1)}\n" in text
    assert "page 13.44x over 1h (it needs an error ratio above 403 %)" in note(sl1)


def test_every_alert_has_a_severity_and_the_labels_it_is_about() -> None:
    for name in ("slo-servicedesk.yml", "itsm.yml"):
        for r in _rules(name):
            if "alert" in r:
                assert r["labels"]["severity"] in ("page", "ticket"), r["alert"]
                assert {"summary", "description"} <= set(r["annotations"]), r["alert"]
    itsm = {r["alert"]: r for r in _rules("itsm.yml")}
    assert sorted(itsm) == [
        "ChangeFreezeViolation",
        "GoalIndicatorNotAchieved",
        "MessagesDeadLettered",
        "Severity1IncidentUnacknowledged",
        "TicketsBreachingSla",
    ]
    assert "by (service)" in itsm["Severity1IncidentUnacknowledged"]["expr"]
    assert "by (service)" in itsm["ChangeFreezeViolation"]["expr"]
    assert itsm["Severity1IncidentUnacknowledged"]["labels"]["severity"] == "page"
    assert itsm["GoalIndicatorNotAchieved"]["for"] == "1h"


def test_every_metric_the_rules_read_is_one_the_worker_exports() -> None:
    exported = set()
    for metric in vars(m).values():
        if isinstance(metric, Counter):
            exported.add(f"{metric._name}_total")
        elif isinstance(metric, Gauge | Histogram):
            exported.add(metric._name)
    used = set()
    for name in ("slo-servicedesk.yml", "itsm.yml"):
        for r in _rules(name):
            used |= set(re.findall(r"\bopstrack_[a-z0-9_]+", r["expr"]))
    assert used
    assert used <= exported, used - exported


def test_the_command_registers_with_typer(tmp_path: Path) -> None:
    # As services/cli.py registers it: app.command("rules")(rules).
    app = typer.Typer()
    app.command("rules")(rules)
    app.command("other")(lambda: None)  # two commands, so the name is part of the call
    done = CliRunner().invoke(app, ["rules", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "3 rule files written" in done.output
    assert CliRunner().invoke(app, ["rules", "--out", str(tmp_path), "--check"]).exit_code == 0
