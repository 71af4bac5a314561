"""A store seeded with incidents and planned work around `now`, for the status page's
integration and browser tests. Every internal field holds a value that must never
reach a public page (INTERNAL_VALUES)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from services.core.changes import ChangeState
from services.core.incidents import IncidentState
from services.store import changes, incidents
from tests.unit.test_status import change, incident

H = timedelta(hours=1)
D = timedelta(days=1)

INTERNAL_VALUES = (
    "INC-SEED-ENGINE-4711",
    "Databasnod db-07 kraschade, Kalle Anka har jour",
    "INC-SEED-ANSOKAN-0815",
    "Certifikatet gick ut, ärende 2026-12345",
    "INC-SEED-NET-0042",
    "CHG-SEED-SERVER-9",
    "Byte av SAN-controller, Musse Pigg",
    "CHG-SEED-QUIET-3",
)

ENGINE_NOTICE = {
    "sv": {
        "what": "Det går inte att skicka in ansökningar via e-tjänsterna.",
        "affected": "Alla som ansöker i Laxå.",
        "action": "Leverantören felsöker processmotorn.",
    },
    "en": {
        "what": "Applications cannot be sent through the e-services.",
        "affected": "Everyone applying in Laxå.",
        "action": "The supplier is troubleshooting.",
    },
}
WORK_NOTICE = {
    "sv": {
        "what": "E-tjänsterna är stängda under planerat underhåll av servrarna.",
        "affected": "Alla kommuner.",
    },
}


def seeded(now: datetime) -> tuple[list[IncidentState], list[ChangeState]]:
    found = [
        incident(
            "INC-SEED-ENGINE-4711",
            "processmotor",
            now - H,
            municipalities=["Laxå"],
            title="Databasnod db-07 kraschade, Kalle Anka har jour",
            notice=ENGINE_NOTICE | {"expected_end": (now + 2 * H).isoformat()},
        ),
        incident(
            "INC-SEED-ANSOKAN-0815",
            "e-tjanst-ansokan",
            now - H / 2,
            impact="degraded",
            title="Certifikatet gick ut, ärende 2026-12345",
        ),
        incident(
            "INC-SEED-NET-0042",
            "network",
            now - 5 * D,
            now - 5 * D + 2 * H,
            municipalities=["Hallsberg"],
        ),
    ]
    work = [
        change(
            "CHG-SEED-SERVER-9",
            "serverdrift",
            now + 3 * D,
            now + 3 * D + 4 * H,
            scheduled=now - D,
            title="Byte av SAN-controller, Musse Pigg",
            notice=WORK_NOTICE,
        ),
        change("CHG-SEED-QUIET-3", "processmotor", now + D, now + D + H, False, scheduled=now - D),
    ]
    return found, work


def seed(engine: Engine, now: datetime) -> None:
    found, work = seeded(now)
    with engine.begin() as conn:
        incidents.save(conn, found)
        changes.save_changes(conn, work)
