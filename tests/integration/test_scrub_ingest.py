"""Personal data in free text is scrubbed at the door: the outbox (and so the store and
Kafka) never holds it, unless OPSTRACK_SCRUB_PERSONAL_DATA turns scrubbing off."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import Engine, select

from services.core import scrub
from services.stack.broker import EmbeddedBroker
from services.store.outbox import OUTBOX
from tests.builders import envelope, incident_data
from tests.integration.test_api import SINGLE, post, running, settings_for

pytestmark = pytest.mark.integration

TITLE = "Användare 811218-9876 utelåst, ring 070-123 45 67"


def opened(n: int) -> dict[str, object]:
    data = incident_data(f"INC-{n}", "m365", severity=3, impact="degraded", title=TITLE)
    return envelope(
        "incident.opened",
        data,
        id=f"inc-{n}",
        source="test/scrub",
        time="2022-05-04T08:15:00+02:00",
    )


def titles(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        # Every row, published by the relay or not.
        return [orjson.loads(p)["data"]["title"] for p in conn.scalars(select(OUTBOX.c.payload))]


@pytest.fixture(autouse=True)
def _scrubbing_back_on() -> Iterator[None]:
    yield
    scrub.set_enabled(True)  # the switch is per process: leave it as other tests expect


def test_ingest_stores_the_title_scrubbed(
    db_url: str, broker: EmbeddedBroker, engine: Engine
) -> None:
    with running(settings_for(db_url, broker.bootstrap)) as client:
        assert post(client, opened(1), SINGLE).status_code == 202
    assert titles(engine) == ["Användare [personnr] utelåst, ring [telnr]"]


def test_turned_off_the_title_is_kept(db_url: str, broker: EmbeddedBroker, engine: Engine) -> None:
    settings = settings_for(db_url, broker.bootstrap, scrub_personal_data=False)
    with running(settings) as client:
        assert post(client, opened(2), SINGLE).status_code == 202
    assert titles(engine) == [TITLE]
