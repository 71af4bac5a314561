"""What every ingest endpoint shares: reading a bounded body, storing validated events."""

from __future__ import annotations

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


class Accepted(BaseModel):
    accepted: int  # events stored now
    duplicates: int  # events whose id was already stored: acknowledged, not counted again


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
    """Write validated events to the outbox (repeats by id are skipped) and wake the relay."""
    rows = to_outbox(events, settings.topic)

    def store() -> int:
        with engine.begin() as conn:
            return outbox.add(conn, rows)

    new = await run_in_threadpool(store)
    relay.wake()
    metrics.INGEST_EVENTS.labels("accepted").inc(new)
    metrics.INGEST_EVENTS.labels("duplicate").inc(len(events) - new)
    return Accepted(accepted=new, duplicates=len(events) - new)
