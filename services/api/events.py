"""POST /v1/events: CloudEvents in, stored in the outbox, handed to the relay."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.auth import RESPONSES, IngestCaller, admit
from services.api.deps import EngineDep, RelayDep, SettingsDep
from services.core.events import EVENT_MODELS, json_schema
from services.ingest.accept import Accepted, read_limited, store_events
from services.ingest.batch import BodyError, decode, invalid_body, problem_json, validate
from services.observability import ingest_metrics as metrics

router = APIRouter(prefix="/v1", tags=["ingest"])


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """A schema with its `#/$defs/…` references replaced by what they name.

    OpenAPI resolves a `$ref` from the document's root, where an event schema's
    own `$defs` are not; the data models do not refer to themselves, so inlining ends.
    """
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        drop = ("$defs", "$id", "$schema", "$comment")  # the file's own; not part of the body
        return {k: _inline(v, defs) for k, v in node.items() if k not in drop}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def _event_schema() -> dict[str, Any]:
    """Any one event: the schemas of schemas/*.json, so API clients and tests see each field."""
    schemas = [json_schema(t) for t in sorted(EVENT_MODELS)]
    return {"oneOf": [_inline(s, s.get("$defs", {})) for s in schemas]}


_EVENT = _event_schema()
_BATCH = {"type": "array", "items": _EVENT, "minItems": 1}
_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/cloudevents+json": {"schema": _EVENT},
            "application/cloudevents-batch+json": {"schema": _BATCH},
            "application/json": {"schema": {"oneOf": [_EVENT, _BATCH]}},
        },
    }
}


@router.post(
    "/events",
    status_code=202,
    response_model=Accepted,
    openapi_extra=_BODY_DOC,
    responses={
        400: {"description": "Malformed JSON or wrong shape"},
        413: {"description": "Body or batch over the limit"},
        415: {"description": "Unsupported content type"},
        422: {
            "description": "Invalid events: each bad index and field is listed (the first "
            "100, with `error_count` of all); nothing stored"
        },
        **RESPONSES,
    },
)
async def post_events(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    relay: RelayDep,
    caller: IngestCaller,
) -> Any:
    """Accept one event or a batch: the whole batch is stored, or none of it."""
    try:
        body = await read_limited(request, settings.max_body_bytes)
        items = decode(body, request.headers.get("content-type", ""), settings.max_batch_events)
    except BodyError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    # Scopes are checked on the types the items name (validation names the rest), and
    # every item costs rate, valid or not.
    types = [t for i in items if isinstance(i, dict) and isinstance(t := i.get("type"), str)]
    sources = [s for i in items if isinstance(i, dict) and isinstance(s := i.get("source"), str)]
    refused = admit(request, caller, types, count=len(items), event_sources=sources)
    if refused is not None:
        return refused
    events, problems = validate(items)
    if problems:
        metrics.INGEST_EVENTS.labels("rejected").inc(len(items))
        bad = len({p.index for p in problems})
        detail = f"{bad} of {len(items)} events are invalid; nothing was stored"
        errors = [problem_json(p) for p in problems]
        return JSONResponse(invalid_body(detail, errors), status_code=422)
    return await store_events(events, engine, settings, relay)
