"""Tests for services.core.status: the public status derived through the dependency graph.

The catalogue below is small and drawn by hand; each expectation is worked out from
the drawing in the test's comment, never by calling the code under test.

    network (A, B, C)
      └ server (A, B, C)
          └ engine (A, B, C)
              ├ apply   e-service (A, B, C)
              └ benefit e-service (A, B)
    mail (A, B, C) ── network
    web     e-service (A, B, C) ── network
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.core.catalog import Catalog, load_catalog
from services.core.changes import ChangeState, change_state
from services.core.events import parse_event
from services.core.incidents import IncidentState, incident_state
from services.core.status import status_view, touched, worst
from tests.builders import envelope

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
ALL = ["A", "B", "C"]


def public(sv: str) -> dict[str, str]:
    return {"sv": sv, "en": sv + " (en)"}


CATALOG_SPEC: dict[str, Any] = {
    "services": [
        {"id": "network", "name": "Net", "owner": "Infra", "municipalities": ALL},
        {
            "id": "server",
            "name": "Server",
            "owner": "Infra",
            "municipalities": ALL,
            "depends_on": ["network"],
        },
        {
            "id": "engine",
            "name": "Engine",
            "owner": "Apps",
            "municipalities": ALL,
            "depends_on": ["server"],
        },
        {
            "id": "apply",
            "name": "Apply internal",
            "owner": "Apps",
            "municipalities": ALL,
            "depends_on": ["engine"],
            "e_service": True,
            "public_name": public("Ansök"),
        },
        {
            "id": "benefit",
            "name": "Benefit internal",
            "owner": "Apps",
            "municipalities": ["A", "B"],
            "depends_on": ["engine"],
            "e_service": True,
            "public_name": public("Bistånd"),
        },
        {
            "id": "mail",
            "name": "Mail",
            "owner": "Work",
            "municipalities": ALL,
            "depends_on": ["network"],
        },
        {
            "id": "web",
            "name": "Web internal",
            "owner": "Web",
            "municipalities": ALL,
            "depends_on": ["network"],
            "e_service": True,
            "public_name": {"sv": "Webbplatsen"},
        },
    ]
}


def catalog() -> Catalog:
    return load_catalog(CATALOG_SPEC)


def _event(family: str, kind: str, t: datetime, data: dict[str, Any]) -> Any:
    eid = hashlib.sha256(f"{family}{kind}{t}{sorted(data.items())}".encode()).hexdigest()
    return parse_event(envelope(f"{family}.{kind}", data, id=eid, time=t))


def notice(what: str, **more: Any) -> dict[str, Any]:
    return {"sv": {"what": what}} | more


def incident(
    inc: str,
    service: str,
    opened: datetime,
    resolved: datetime | None = None,
    impact: str = "outage",
    municipalities: list[str] | None = None,
    **extra: Any,
) -> IncidentState:
    data = {
        "incident_id": inc,
        "service": service,
        "severity": 1,
        "impact": impact,
        "municipalities": municipalities or [],
    } | extra
    events = [_event("incident", "opened", opened, data)]
    if resolved is not None:
        ref = {"incident_id": inc, "service": service}
        events.append(_event("incident", "resolved", resolved, ref))
    return incident_state(events)


def change(
    cid: str,
    service: str,
    start: datetime,
    end: datetime,
    with_notice: bool = True,
    implemented: datetime | None = None,
    scheduled: datetime = NOW - 5 * D,
    **extra: Any,
) -> ChangeState:
    data: dict[str, Any] = {
        "change_id": cid,
        "service": service,
        "planned_start": start.isoformat(),
        "planned_end": end.isoformat(),
    }
    if with_notice:
        data["notice"] = notice(f"Arbete {cid}")
    data |= extra
    events = [_event("change", "scheduled", scheduled, data)]
    if implemented is not None:
        ref = {"change_id": cid, "service": service}
        events.append(_event("change", "implemented", implemented, ref))
    return change_state(events)


def levels(view: Any) -> dict[str, str]:
    return {line.id: line.level for line in view.services}


def test_touched_follows_dependencies_and_municipalities() -> None:
    cat = catalog()
    # An engine problem in B reaches both e-services that need it, there only.
    assert touched(cat, "engine", ["B"]) == {"apply": {"B"}, "benefit": {"B"}}
    # Naming no municipality means all of the engine's users; benefit serves A and B only.
    assert touched(cat, "engine", []) == {"apply": {"A", "B", "C"}, "benefit": {"A", "B"}}
    # The network is under everything; mail is not an e-service, so it is not listed.
    assert touched(cat, "network", ["C"]) == {"apply": {"C"}, "web": {"C"}}
    # Mail is needed by no e-service; C is not served by benefit.
    assert touched(cat, "mail", []) == {}
    assert touched(cat, "benefit", ["C"]) == {}
    assert touched(cat, "not-in-catalog", []) == {}


def test_engine_outage_in_one_municipality() -> None:
    cat = catalog()
    inc = incident("INC-1", "engine", NOW - 2 * H, municipalities=["B"])
    everywhere = status_view(cat, [inc], [], NOW)
    assert levels(everywhere) == {"apply": "outage", "benefit": "outage", "web": "operational"}
    assert everywhere.level == "outage"
    apply_line, benefit_line, web_line = everywhere.services
    assert apply_line.levels == {"A": "operational", "B": "outage", "C": "operational"}
    assert benefit_line.levels == {"A": "operational", "B": "outage"}
    assert apply_line.partial and not web_line.partial
    assert [i.services for i in everywhere.current] == [("apply", "benefit")]
    assert everywhere.current[0].municipalities == ("B",)
    assert everywhere.current[0].notice is None  # the page shows the default text
    in_a = status_view(cat, [inc], [], NOW, "A")
    assert levels(in_a) == {"apply": "operational", "benefit": "operational", "web": "operational"}
    assert in_a.current == ()
    in_c = status_view(cat, [inc], [], NOW, "C")
    assert levels(in_c) == {"apply": "operational", "web": "operational"}  # no benefit in C


def test_network_outage_everywhere_and_a_degraded_e_service() -> None:
    cat = catalog()
    net = incident("INC-2", "network", NOW - H)
    slow = incident("INC-3", "benefit", NOW - 3 * H, impact="degraded", municipalities=["A"])
    view = status_view(cat, [net, slow], [], NOW)
    assert levels(view) == {"apply": "outage", "benefit": "outage", "web": "outage"}
    # Worst first: the outage before the slowdown.
    assert [i.level for i in view.current] == ["outage", "degraded"]
    resolved_net = incident("INC-2", "network", NOW - H, NOW - 30 * 60 * timedelta(seconds=1))
    view = status_view(cat, [resolved_net, slow], [], NOW, "A")
    assert levels(view) == {"apply": "operational", "benefit": "degraded", "web": "operational"}
    assert [i.level for i in view.history] == ["outage"]


def test_maintenance_is_shown_only_with_a_notice_and_an_outage_wins() -> None:
    cat = catalog()
    work = change("CHG-1", "server", NOW - H, NOW + H)
    quiet = change("CHG-2", "network", NOW - H, NOW + H, with_notice=False)
    view = status_view(cat, [], [work, quiet], NOW)
    assert levels(view) == {"apply": "maintenance", "benefit": "maintenance", "web": "operational"}
    assert [i.kind for i in view.current] == ["maintenance"]
    down = incident("INC-4", "engine", NOW - H / 2, municipalities=["A"])
    view = status_view(cat, [down], [work], NOW, "A")
    assert levels(view) == {"apply": "outage", "benefit": "outage", "web": "operational"}
    view = status_view(cat, [down], [work], NOW, "B")
    assert levels(view) == {"apply": "maintenance", "benefit": "maintenance", "web": "operational"}


def test_planned_window_and_done_work() -> None:
    cat = catalog()
    soon = change("CHG-3", "web", NOW + 13 * D, NOW + 13 * D + 2 * H)
    far = change("CHG-4", "web", NOW + 15 * D, NOW + 15 * D + 2 * H)
    done_early = change("CHG-5", "web", NOW - 2 * H, NOW + 2 * H, implemented=NOW - H)
    past = change("CHG-6", "web", NOW - 3 * D, NOW - 3 * D + H)
    # Carried out (or called off as done) before its window: not planned any more.
    ahead_done = change("CHG-8", "web", NOW + 2 * D, NOW + 2 * D + H, implemented=NOW - 2 * H)
    view = status_view(cat, [], [soon, far, done_early, past, ahead_done], NOW)
    assert [i.starts for i in view.planned] == [NOW + 13 * D]
    assert view.current == ()  # carried out an hour ago: over
    assert levels(view)["web"] == "operational"
    # Latest end first: the work carried out an hour ago, the one carried out two hours
    # ago ahead of its window (a moment then), then the one three days ago.
    assert [(i.starts, i.ends) for i in view.history] == [
        (NOW - 2 * H, NOW - H),
        (NOW - 2 * H, NOW - 2 * H),
        (NOW - 3 * D, NOW - 3 * D + H),
    ]


def test_availability_per_municipality_over_thirty_days() -> None:
    cat = catalog()
    # 3 hours of engine outage in B ten days ago; 1 hour of network outage everywhere,
    # 1 hour before it (not overlapping); one resolved 40 days ago is outside the window.
    engine = incident("INC-5", "engine", NOW - 10 * D, NOW - 10 * D + 3 * H, municipalities=["B"])
    net = incident("INC-6", "network", NOW - 10 * D - 2 * H, NOW - 10 * D - H)
    old = incident("INC-7", "network", NOW - 40 * D, NOW - 40 * D + H)
    slow = incident("INC-8", "apply", NOW - D, NOW - D + H, impact="degraded")
    view = status_view(cat, [engine, net, old, slow], [], NOW)
    window = 30 * 24.0  # hours
    by_id = {line.id: line.availability for line in view.services}
    assert by_id["apply"] == pytest.approx(
        {"A": 1 - 1 / window, "B": 1 - 4 / window, "C": 1 - 1 / window}
    )
    assert by_id["benefit"] == pytest.approx({"A": 1 - 1 / window, "B": 1 - 4 / window})
    # A slowdown is not downtime; web only needs the network.
    assert by_id["web"] == pytest.approx(dict.fromkeys(ALL, 1 - 1 / window))
    assert len(view.history) == 3  # INC-5, INC-6 and INC-8; INC-7 is too old
    only_b = status_view(cat, [engine, net, old], [], NOW, "B")
    assert {line.id: line.availability for line in only_b.services}["apply"] == pytest.approx(
        {"B": 1 - 4 / window}
    )


def test_last_modified_is_the_latest_change_not_now() -> None:
    cat = catalog()
    inc = incident("INC-9", "web", NOW - 2 * H, NOW - H)
    upcoming = change("CHG-7", "web", NOW + D, NOW + D + H, scheduled=NOW - 3 * H)
    view = status_view(cat, [inc], [upcoming], NOW)
    assert view.last_modified == NOW - H
    # When the planned start passes, the view changes: that is its new last_modified.
    later = status_view(cat, [inc], [upcoming], NOW + D + H / 2)
    assert later.last_modified == NOW + D
    assert levels(later)["web"] == "maintenance"


def test_worst() -> None:
    assert worst([]) == "operational"
    assert worst(["maintenance", "degraded"]) == "degraded"
    assert worst(["outage", "maintenance"]) == "outage"


def test_internal_ids_do_not_become_public_keys() -> None:
    view = status_view(catalog(), [incident("INC-SECRET-1", "web", NOW - H)], [], NOW)
    assert "INC-SECRET-1" not in view.current[0].key


def test_the_latest_notice_wins_whatever_the_arrival_order() -> None:
    ref = {"incident_id": "INC-10", "service": "web"}
    opened = _event(
        "incident",
        "opened",
        NOW - 3 * H,
        ref | {"severity": 2, "impact": "outage", "notice": notice("först")},
    )
    second = _event("incident", "updated", NOW - 2 * H, ref | {"notice": notice("sedan")})
    quiet = _event("incident", "updated", NOW - H, ref | {"impact": "degraded"})
    for events in ([opened, second, quiet], [quiet, second, opened]):
        state = incident_state(events)
        assert state.notice is not None and state.notice.sv.what == "sedan"
        assert state.notice_at == NOW - 2 * H
        assert state.impact == "degraded"


@pytest.mark.parametrize(
    ("what", "problem"),
    [
        ("", "at least 1 character"),
        ("   ", "blank"),
        ("nere\x00", r"U\+0000 \(NUL\) at position 4"),
        ("nere\ufffe", "U\\+FFFE"),
        ("x" * 1001, "1000"),
    ],
)
def test_a_notice_refuses_unwritable_text(what: str, problem: str) -> None:
    from services.core.events import EventError

    data = {"incident_id": "INC-11", "service": "web", "notice": {"sv": {"what": what}}}
    with pytest.raises(EventError, match=problem):
        _event("incident", "updated", NOW, data)


def test_downtime_per_municipality_in_the_read_api_rows() -> None:
    from services.core.entity_rows import incident_rows

    cat = catalog()
    # 3 h of engine outage in B only, 1 h of network outage everywhere (not overlapping).
    engine = incident("INC-20", "engine", NOW - 10 * D, NOW - 10 * D + 3 * H, municipalities=["B"])
    net = incident("INC-21", "network", NOW - 12 * D, NOW - 12 * D + H)
    start, end = NOW - 30 * D, NOW

    def minutes(municipality: str | None) -> float:
        rows = incident_rows(
            [engine, net], cat, start, end, NOW, ("service",), "apply", municipality
        )
        (row,) = rows
        return float(row["downtime_minutes"])

    assert minutes(None) == 240  # as before: every outage counts everywhere
    assert minutes("B") == 240
    assert minutes("A") == 60  # only the network's hour touched A
    rows = incident_rows([engine, net], cat, start, end, NOW, (), None, "A")
    assert rows[0]["opened"] == 1  # the engine incident did not touch A


def test_catalog_public_names_and_e_services() -> None:
    from services.core.catalog import CatalogError

    cat = catalog()
    assert [s.id for s in cat.e_services()] == ["apply", "benefit", "web"]
    assert cat.services["apply"].public("en") == "Ansök (en)"
    assert cat.services["web"].public("en") == "Webbplatsen"  # no English: the Swedish one
    assert cat.services["engine"].public("sv") == "Engine"  # none at all: the name
    assert cat.municipalities() == ["A", "B", "C"]
    # A file from before public names still loads: the fields are optional.
    old = {"services": [{"id": "x", "name": "X", "owner": "O", "municipalities": ["A"]}]}
    assert load_catalog(old).e_services() == []
    bad = {"services": [old["services"][0] | {"e_service": True}]}
    with pytest.raises(
        CatalogError,
        match=r"services\[0\]: service 'x' is an e-service \(e_service: true\): it needs a public_name",
    ):
        load_catalog(bad)
