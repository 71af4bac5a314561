"""`opstrack notice incident | change`: the public notice of the status page (/status).

Sends an event through the API like `opstrack emit`: incident.updated with the
notice (severity and impact stay as they were), or change.scheduled with the notice
and the planned window restated. Registered in services/cli.py:

    app.add_typer(notice_app, name="notice")
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from services.commands.options import DEFAULT_URL, UrlOpt

out = Console(soft_wrap=True)

notice_app = typer.Typer(
    help="Public notices on the status page: what does not work, for whom, what is done.",
    no_args_is_help=True,
)

WhatOpt = Annotated[str, typer.Option("--what", help="What does not work (Swedish).")]
AffectedOpt = Annotated[str | None, typer.Option("--affected", help="Who is affected (Swedish).")]
ActionOpt = Annotated[str | None, typer.Option("--action", help="What is being done (Swedish).")]
WhatEnOpt = Annotated[str | None, typer.Option("--what-en", help="What does not work (English).")]
AffectedEnOpt = Annotated[
    str | None, typer.Option("--affected-en", help="Who is affected (English).")
]
ActionEnOpt = Annotated[
    str | None, typer.Option("--action-en", help="What is being done (English).")
]
EndOpt = Annotated[
    str | None,
    typer.Option(
        "--expected-end", help="When it is expected to work again (ISO 8601 with offset)."
    ),
]
SOURCE = "opstrack/cli"


def build_notice(
    what: str,
    affected: str | None,
    action: str | None,
    what_en: str | None,
    affected_en: str | None,
    action_en: str | None,
    expected_end: str | None,
) -> dict[str, Any]:
    """The notice object of the event contract; English only with its --what-en."""

    def text(w: str, a: str | None, d: str | None) -> dict[str, str]:
        return {"what": w} | ({"affected": a} if a else {}) | ({"action": d} if d else {})

    notice: dict[str, Any] = {"sv": text(what, affected, action)}
    if what_en:
        notice["en"] = text(what_en, affected_en, action_en)
    elif affected_en or action_en:
        from services.client import ClientError

        raise ClientError("--affected-en and --action-en need --what-en")
    if expected_end:
        notice["expected_end"] = expected_end
    return notice


def _send(url: str, event_type: str, data: dict[str, Any]) -> None:
    from services import client
    from services.core.events import EventError, parse_event

    event = {
        "specversion": "1.0",
        "id": f"notice-{uuid.uuid4()}",  # each notice is news, never a repeat
        "source": SOURCE,
        "type": event_type,
        "time": datetime.now(tz=UTC).isoformat(),
        "data": data,
    }
    try:
        parse_event(event)  # say what is wrong here, before anything is sent
    except EventError as exc:
        raise client.ClientError(
            "; ".join(f"{field}: {message}" for field, message in exc.problems)
        ) from None
    client.post_batches(url, [event], 1)


@notice_app.command("incident")
def incident(
    incident_id: Annotated[str, typer.Argument(help="The incident's id.")],
    what: WhatOpt,
    affected: AffectedOpt = None,
    action: ActionOpt = None,
    what_en: WhatEnOpt = None,
    affected_en: AffectedEnOpt = None,
    action_en: ActionEnOpt = None,
    expected_end: EndOpt = None,
    service: Annotated[
        str | None,
        typer.Option(help="The incident's service (default: looked up among open incidents)."),
    ] = None,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Set the public notice of an incident (incident.updated)."""
    from services import client

    notice = build_notice(what, affected, action, what_en, affected_en, action_en, expected_end)
    if service is None:
        found = client.get_json(url, "/v1/incidents", {"status": "open"})["incidents"]
        match = [i["service"] for i in found if i["incident_id"] == incident_id]
        if not match:
            raise client.ClientError(
                f"no open incident {incident_id!r}; give its service with --service"
            )
        service = str(match[0])
    data = {"incident_id": incident_id, "service": service, "notice": notice}
    _send(url, "incident.updated", data)
    out.print(f"notice of {incident_id} sent; it shows on {url}/status once applied")


@notice_app.command("change")
def change(
    change_id: Annotated[str, typer.Argument(help="The change's id.")],
    service: Annotated[str, typer.Option(help="The change's service.")],
    start: Annotated[str, typer.Option(help="Planned start, as scheduled (ISO 8601 with offset).")],
    end: Annotated[str, typer.Option(help="Planned end, as scheduled.")],
    what: WhatOpt,
    affected: AffectedOpt = None,
    action: ActionOpt = None,
    what_en: WhatEnOpt = None,
    affected_en: AffectedEnOpt = None,
    action_en: ActionEnOpt = None,
    title: Annotated[
        str | None, typer.Option(help="The internal title, as scheduled (never shown publicly).")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Publish planned work (change.scheduled with a notice); the schedule is restated,
    since the latest schedule is the plan."""
    notice = build_notice(what, affected, action, what_en, affected_en, action_en, None)
    data: dict[str, Any] = {
        "change_id": change_id,
        "service": service,
        "planned_start": start,
        "planned_end": end,
        "notice": notice,
    }
    if title:
        data["title"] = title
    _send(url, "change.scheduled", data)
    out.print(f"notice of {change_id} sent; it shows on {url}/status once applied")
