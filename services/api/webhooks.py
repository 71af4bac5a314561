"""POST /v1/webhooks/tickets/{source}: a ticket system's webhook → ticket events → the outbox.

The payload is mapped by `config/webhooks/<source>.yaml`, then the events go the
way of POST /v1/events: validated whole (422 and nothing stored if any is wrong),
stored in the outbox (a repeated id is a duplicate), handed to the relay, 202.

Mounted in services/api/main.py like the other routers: `app.include_router(webhooks.router)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from services.api.auth import RESPONSES, WebhookCaller, admit, check_signature, webhook_refused
from services.api.deps import EngineDep, RelayDep, SettingsDep
from services.ingest.accept import Accepted, read_json_object, store_events
from services.ingest.batch import invalid_body, validate
from services.observability import ingest_metrics as metrics
from services.sources.mapping import MappingError
from services.sources.ticket_webhooks.mapping import WebhookSpec, map_payload
from services.sources.ticket_webhooks.read import UnknownSource, read_webhook_spec

router = APIRouter(prefix="/v1/webhooks", tags=["ingest"])


def _load(directory: Path, source: str) -> WebhookSpec | JSONResponse:
    """The source's spec, read on every request so an edited mapping needs no restart."""
    try:
        return read_webhook_spec(directory, source)
    except UnknownSource as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    except MappingError as exc:
        # The operator's file is wrong, not the sender's payload: a 5xx makes the sender retry.
        return JSONResponse({"detail": str(exc)}, status_code=500)


@router.post(
    "/tickets/{source}",
    status_code=202,
    response_model=Accepted,
    # Read by hand below; its shape is whatever the source's mapping file reads.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    responses={
        400: {"description": "Malformed JSON, or not a JSON object"},
        404: {"description": "No mapping for this source; the known sources are named"},
        413: {"description": "Body over the limit"},
        422: {"description": "The payload maps to no valid events; each problem is listed"},
        500: {"description": "The source's mapping file is broken"},
        **RESPONSES,
    },
)
async def post_ticket_webhook(
    source: str,
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    relay: RelayDep,
    caller: WebhookCaller,
) -> Any:
    """A Zammad, GLPI … webhook: the ticket's events are stored, or none of them.

    Authenticated by a bearer token (GLPI and Zammad can both send custom headers) or,
    for a source with a secret in `webhook_secrets`, by Zammad's X-Hub-Signature.
    """
    refused = webhook_refused(caller, source)
    if refused is not None:
        return refused
    spec = await run_in_threadpool(_load, settings.config_dir / "webhooks", source)
    if isinstance(spec, JSONResponse):
        return spec
    payload = await read_json_object(
        request, settings.max_body_bytes, lambda body: check_signature(request, caller, body)
    )
    if isinstance(payload, JSONResponse):
        return payload

    items, mapped = map_payload(payload, spec)
    events, invalid = validate(list(items))
    errors = [{"field": f, "message": m} for f, m in mapped] + [
        {"index": p.index, "field": p.field, "message": p.message} for p in invalid
    ]
    if errors:
        # A payload that maps to nothing still counts: as one rejected event.
        metrics.INGEST_EVENTS.labels("rejected").inc(max(len(items), 1))
        detail = f"the {source} payload gives no valid events; nothing was stored"
        return JSONResponse(invalid_body(detail, errors), status_code=422)
    refused = admit(request, caller, [e.type for e in events])
    if refused is not None:
        return refused
    return await store_events(events, engine, settings, relay)
