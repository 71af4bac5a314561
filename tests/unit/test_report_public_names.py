"""The goal report's incident section names services by their public names (issue 15),
else by the catalog's name, by id where the catalog has no such service (issue 14), and
lists only e-services as affected."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from services.core.catalog import load_catalog
from services.report.build import affected_e_services, display_names
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


# A small catalog written out here: processmotor carries two e-services, one of them
# with a public name; the portal is an e-service with only a Swedish public name.
CATALOG = load_catalog(
    {
        "services": [
            {"id": "network", "name": "Nätverk", "owner": "Drift", "municipalities": ["Laxå"]},
            {
                "id": "processmotor",
                "name": "Processmotor för e-tjänster",
                "owner": "Förvaltning",
                "municipalities": ["Laxå"],
                "depends_on": ["network"],
            },
            {
                "id": "ekonomiskt-bistand",
                "name": "E-tjänst ekonomiskt bistånd",
                "owner": "Förvaltning",
                "municipalities": ["Laxå"],
                "depends_on": ["processmotor"],
                "e_service": True,
                "public_name": {"sv": "Ansök om ekonomiskt bistånd", "en": "Apply for aid"},
            },
            {
                "id": "portal",
                "name": "Självserviceportal",
                "owner": "Förvaltning",
                "municipalities": ["Laxå"],
                "depends_on": ["network"],
                "e_service": True,
                "public_name": {"sv": "Mina sidor"},
            },
            {
                "id": "m365",
                "name": "Microsoft 365",
                "owner": "Arbetsplats",
                "municipalities": ["Laxå"],
                "depends_on": ["network"],
            },
        ]
    }
)


def test_only_e_services_are_listed_as_affected() -> None:
    # network reaches everything; of that only the two e-services are listed, not m365.
    assert affected_e_services(CATALOG, "network") == ["ekonomiskt-bistand", "portal"]
    assert affected_e_services(CATALOG, "processmotor") == ["ekonomiskt-bistand"]
    assert affected_e_services(CATALOG, "m365") == []
    # An e-service down is itself affected.
    assert affected_e_services(CATALOG, "portal") == ["portal"]
    assert affected_e_services(CATALOG, "not-in-catalog") == []


def test_display_names_are_public_names_else_catalog_names() -> None:
    names = display_names(CATALOG, ["processmotor", "ekonomiskt-bistand", "portal", "gone"])
    assert names == {
        "processmotor": {"sv": "Processmotor för e-tjänster", "en": "Processmotor för e-tjänster"},
        "ekonomiskt-bistand": {"sv": "Ansök om ekonomiskt bistånd", "en": "Apply for aid"},
        "portal": {"sv": "Mina sidor", "en": "Mina sidor"},
    }  # "gone" is not in the catalog: the report shows its id


def test_changes_and_freezes_name_their_services() -> None:
    seed = seed_report().summary
    named = Summary(
        seed.major_incidents,
        [replace(seed.freezes[0], scope=["epost", "okänd"])],
        seed.violations,
        names={"epost": {"sv": "E-post och kalender", "en": "Email and calendar"}},
    )
    sv = render(seed_report(summary=named), "sv", "md").decode()
    assert "| CHG-7 | E-post och kalender |" in sv
    assert "| E-post och kalender, okänd |" in sv
    en = render(seed_report(summary=named), "en", "md").decode()
    assert "| CHG-7 | Email and calendar |" in en
