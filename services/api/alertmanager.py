"""POST /v1/webhooks/alertmanager: monitoring alerts → incident events → the outbox.

Alertmanager's webhook payload is mapped by `config/alerts.yaml` (see
services.sources.alertmanager.mapping), then the events go the way of POST /v1/events: validated
whole (422 and nothing stored if any alert is wrong), stored in the outbox (a repeated
id is a duplicate), handed to the relay, 202.

Mounted in services/api/main.py like the other routers:
`app.include_router(alertmanager.router)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services.api.auth import RESPONSES, IngestCaller, admit, webhook_refused
from services.api.deps import CatalogDep, EngineDep, RelayDep, SettingsDep
from services.ingest.accept import Accepted, read_json_object, store_events
from services.ingest.batch import invalid_body, validate
from services.observability import ingest_metrics as metrics
from services.sources.alertmanager.mapping import AlertSpec, map_alerts
from services.sources.alertmanager.read import read_alert_spec
from services.sources.mapping import MappingError

router = APIRouter(prefix="/v1/webhooks", tags=["ingest"])


def _load(path: Path) -> AlertSpec | JSONResponse:
    """The spec, read on every request so an edited mapping needs no restart."""
    try:
        return read_alert_spec(path)
    except MappingError as exc:
        # The operator's file is wrong, not the alert: a 5xx makes Alertmanager retry.
        return JSONResponse({"detail": str(exc)}, status_code=500)


# The body read by hand below, documented for clients and for schemathesis: Alertmanager's
# webhook payload (version 4), as much of it as the mapping reads.
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["version", "alerts"],
                    "properties": {
                        "version": {"type": "string", "const": "4"},
                        "alerts": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["status", "labels", "startsAt", "fingerprint"],
                                "properties": {
                                    "status": {"enum": ["firing", "resolved"]},
                                    "labels": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "annotations": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "startsAt": {"type": "string", "format": "date-time"},
                                    "endsAt": {"type": "string", "format": "date-time"},
                                    "fingerprint": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/alertmanager",
    status_code=202,
    response_model=Accepted,
    openapi_extra=_BODY_DOC,
    responses={
        400: {"description": "Malformed JSON, or not a JSON object"},
        413: {"description": "Body over the limit"},
        422: {
            "description": "Some alert maps to no valid incident event; nothing stored. "
            "Each problem names the alert by its index in `alerts`, and the label or field"
        },
        500: {"description": "config/alerts.yaml is missing or broken"},
        **RESPONSES,
    },
)
async def post_alertmanager(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    relay: RelayDep,
    catalog: CatalogDep,
    caller: IngestCaller,
) -> Any:
    """Alertmanager's webhook (payload version 4): each alert's incident events, or none.

    Authenticated by a bearer token: `http_config.authorization` in alertmanager.yml.
    """
    refused = webhook_refused(caller, "alertmanager")
    if refused is not None:
        return refused
    spec = await run_in_threadpool(_load, settings.config_dir / "alerts.yaml")
    if isinstance(spec, JSONResponse):
        return spec
    payload = await read_json_object(request, settings.max_body_bytes)
    if isinstance(payload, JSONResponse):
        return payload

    mapped = map_alerts(payload, spec, catalog.services.keys())
    events, invalid = validate([event for _, event in mapped.events])
    errors = [{"index": p.index, "field": p.field, "message": p.message} for p in mapped.problems]
    # validate() counts events; the sender knows alerts, so name the alert behind each event.
    errors += [
        {"index": mapped.events[p.index][0], "field": p.field, "message": p.message}
        for p in invalid
    ]
    if errors:
        metrics.INGEST_EVENTS.labels("rejected").inc(max(len(mapped.events), 1))
        detail = "the Alertmanager payload gives no valid incident events; nothing was stored"
        return JSONResponse(invalid_body(detail, errors), status_code=422)
    refused = admit(request, caller, [e.type for e in events])
    if refused is not None:
        return refused
    return await store_events(events, engine, settings, relay)
