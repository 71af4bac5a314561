"""The goal report's incident section names services by their public names (issue 15),
and by id where the catalog gives none."""

from __future__ import annotations

from datetime import UTC, datetime

from services.report.model import MajorIncident, Summary
from services.report.render import render
from tests.unit.test_report_render import seed_report

INCIDENT = MajorIncident(
    incident_id="INC-7",
    service="processmotor",
    title="Motorn stannade",
    severity=1,
    opened_at=datetime(2022, 3, 14, 8, 0, tzinfo=UTC),
    resolved_at=datetime(2022, 3, 14, 9, 0, tzinfo=UTC),
    duration_minutes=60.0,
    affected=["e-tjanst-ansokan", "ekonomiskt-bistand"],
    public_names={
        "e-tjanst-ansokan": {"sv": "Ansökningar via e-tjänst", "en": "Online applications"},
    },
)


def test_public_names_in_each_language_and_ids_where_there_are_none() -> None:
    report = seed_report(summary=Summary(major_incidents=[INCIDENT]))
    sv = render(report, "sv", "md").decode()
    en = render(report, "en", "md").decode()
    assert "Ansökningar via e-tjänst, ekonomiskt-bistand" in sv
    assert "Online applications, ekonomiskt-bistand" in en
    assert "| processmotor |" in sv  # no public name: its id, as before
