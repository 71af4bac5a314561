"""What every ingest endpoint shares: reading a bounded body, storing validated events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine

from services.core.events import Event
from services.ingest.batch import BodyError, to_outbox
from services.ingest.relay import Relay
from services.observability import ingest_metrics as metrics
from services.settings import Settings
from services.store import outbox

log = logging.getLogger(__name__)


class Conflict(BaseModel):
    source: str
    id: str


class Accepted(BaseModel):
    accepted: int  # events stored now
    duplicates: (
        int  # (source, id) already stored with the same content: acknowledged, not counted again
    )
    # (source, id) already stored with other content: the first one stays, this one is
    # refused. An id is unique within its source (CloudEvents), so this is a sender's bug.
    conflicts: list[Conflict] = []


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyError(413, f"body of {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyError(413, f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(
    request: Request, limit: int, check: Callable[[bytes], None] = lambda _: None
) -> dict[str, Any] | JSONResponse:
    """A webhook's JSON object, or the 400/413 answer to give instead; `check` sees the
    raw body first (a signature is over the bytes) and may raise an HTTPException."""
    try:
        body = await read_limited(request, limit)
        check(body)
        payload = orjson.loads(body)
    except BodyError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)
    except orjson.JSONDecodeError as exc:
        return JSONResponse({"detail": f"malformed JSON: {exc}"}, status_code=400)
    if not isinstance(payload, dict):
        return JSONResponse({"detail": "a webhook payload must be a JSON object"}, status_code=400)
    return payload


async def store_events(
    events: list[Event], engine: Engine, settings: Settings, relay: Relay
) -> Accepted:
    """Write validated events to the outbox and wake the relay; a (source, id) already
    stored is a duplicate when its content is the same and a conflict when it is not."""
    rows = to_outbox(events, settings.topic)

    def store() -> tuple[set[str], dict[str, str]]:
        with engine.begin() as conn:
            new = outbox.insert_new(conn, rows)
            return new, outbox.payloads(conn, [r.id for r in rows if r.id not in new])

    new, stored = await run_in_threadpool(store)
    if new:
        relay.wake()
    first = {r.id: r.payload for r in rows}  # what this batch stored or compared against
    accepted = duplicates = 0
    conflicts: list[Conflict] = []
    for e in events:
        key = e.dedup_key
        if key in new:
            new.discard(key)  # the first of the batch with this key was stored
            accepted += 1
        elif e.model_dump_json() == stored.get(key, first[key]):
            duplicates += 1
        else:
            conflicts.append(Conflict(source=e.source, id=e.id))
    metrics.INGEST_EVENTS.labels("accepted").inc(accepted)
    metrics.INGEST_EVENTS.labels("duplicate").inc(duplicates)
    metrics.INGEST_EVENTS.labels("conflict").inc(len(conflicts))
    if conflicts:
        log.warning(
            "%d events repeat a stored (source, id) with other content; kept the first: %s",
            len(conflicts),
            ", ".join(f"{c.source} {c.id}" for c in conflicts[:5]),
        )
    return Accepted(accepted=accepted, duplicates=duplicates, conflicts=conflicts)
